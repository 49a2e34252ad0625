import Foundation

/// Text blocks of a document body, laid out top to bottom with page breaks.
public enum Block: Sendable {
    case heading(String)
    case paragraph(String)
    case bold(String)
    /// Label–value pairs in two columns (what was sent, reference data).
    case facts([(String, String)])
    case table(Table)
    case spacer(Double)
}

public struct Table: Sendable {
    public enum Alignment: Sendable { case left, right, center }
    public struct Column: Sendable {
        public var title: String
        /// Share of the text width; the shares are normalised.
        public var width: Double
        public var alignment: Alignment
        public init(_ title: String, width: Double, alignment: Alignment = .left) {
            self.title = title; self.width = width; self.alignment = alignment
        }
    }
    public var columns: [Column]
    public var rows: [[String]]
    public init(columns: [Column], rows: [[String]]) { self.columns = columns; self.rows = rows }
}

/// The sender of official letters: the tenant's letterhead data.
public struct Letterhead: Sendable {
    public var organisation: String
    public var office: String
    /// Postal address lines of the authority.
    public var address: [String]
    public var contact: [String]
    public var bank: [String]
    /// Shown at the top right, scaled into 45 × 20 mm.
    public var logo: PDFImage?
    public init(organisation: String, office: String = "", address: [String], contact: [String] = [], bank: [String] = [], logo: PDFImage? = nil) {
        self.organisation = organisation; self.office = office; self.address = address; self.contact = contact; self.bank = bank; self.logo = logo
    }
}

/// A letter in DIN 5008 layout (form B): letterhead, return line and address in the window of a
/// DL envelope, information block with reference and date, subject, body, fold and punch marks,
/// footer with address and bank details on every page and "Seite x von y".
public struct Letter: Sendable {
    public var letterhead: Letterhead
    public var recipient: [String]
    /// e.g. ("Aktenzeichen", "TH-2026-000123"), ("Datum", "04.12.2026")
    public var information: [(String, String)]
    public var subject: String
    public var body: [Block]
    public init(letterhead: Letterhead, recipient: [String], information: [(String, String)], subject: String, body: [Block]) {
        self.letterhead = letterhead; self.recipient = recipient; self.information = information; self.subject = subject; self.body = body
    }
}

/// A certificate: centred, with a QR code that leads to the public verification page.
public struct Certificate: Sendable {
    public var issuer: String
    public var title: String
    public var recipient: String
    public var lines: [String]
    public var placeAndDate: String
    public var verificationURL: String
    public var code: String
    public init(issuer: String, title: String, recipient: String, lines: [String], placeAndDate: String, verificationURL: String, code: String) {
        self.issuer = issuer; self.title = title; self.recipient = recipient; self.lines = lines; self.placeAndDate = placeAndDate
        self.verificationURL = verificationURL; self.code = code
    }
}

/// A plain report: title, subtitle, blocks, footer with page numbers.
public struct Report: Sendable {
    public var title: String
    public var subtitle: String
    public var body: [Block]
    public var footer: String
    public init(title: String, subtitle: String = "", body: [Block], footer: String = "") {
        self.title = title; self.subtitle = subtitle; self.body = body; self.footer = footer
    }
}

public enum DocumentError: Error, CustomStringConvertible {
    case fontMissing
    case qr(QRCode.QRError)
    public var description: String {
        switch self {
        case .fontMissing: "Die Schrift für PDF-Dokumente fehlt im Programmpaket."
        case .qr(let e): e.description
        }
    }
}

/// Renders letters, certificates and reports to PDF/A-2b.
public enum PDFRenderer {
    static let mm = 72.0 / 25.4

    static func writer() throws -> PDFWriter {
        guard let r = DocumentFonts.regular, let b = DocumentFonts.bold else { throw DocumentError.fontMissing }
        return PDFWriter(regular: r, bold: b)
    }

    public static func render(_ letter: Letter, info: DocumentInfo) throws -> Data {
        let w = try writer()
        let mm = Self.mm
        var flow = Flow(writer: w, left: 25 * mm, right: PDFWriter.pageWidth - 20 * mm, top: 20 * mm, bottom: 30 * mm)
        flow.newPage(startAt: 0)
        let lh = letter.letterhead
        // letterhead
        flow.text(lh.organisation, x: 25 * mm, fromTop: 15 * mm, size: 14, bold: true, color: .accent)
        if !lh.office.isEmpty { flow.text(lh.office, x: 25 * mm, fromTop: 21 * mm, size: 10, bold: false, color: .grey) }
        if let logo = lh.logo {
            // scaled into the box at the top right, aspect ratio kept
            let scale = min(45 * mm / Double(logo.width), 20 * mm / Double(logo.height))
            let lw = Double(logo.width) * scale, lhgt = Double(logo.height) * scale
            w.images.append(logo)
            w.pages[0].append(.image(index: w.images.count - 1, x: PDFWriter.pageWidth - 20 * mm - lw, y: PDFWriter.pageHeight - 10 * mm - lhgt, w: lw, h: lhgt))
        }
        // return line and address in the window (form B: field from 45 mm, 20 mm from the left)
        let back = ([lh.organisation] + lh.address).joined(separator: " · ")
        flow.text(flow.fit(back, size: 7, width: 85 * mm - 5 * mm, bold: false), x: 25 * mm, fromTop: 50 * mm, size: 7, bold: false, color: .grey)
        var y = 60 * mm
        for line in letter.recipient.prefix(6) {
            flow.text(flow.fit(line, size: 10, width: 80 * mm, bold: false), x: 25 * mm, fromTop: y, size: 10, bold: false, color: .black)
            y += 4.5 * mm
        }
        // information block from 125 mm
        var iy = 50 * mm
        for (label, value) in letter.information {
            flow.text(label, x: 125 * mm, fromTop: iy, size: 8, bold: false, color: .grey)
            flow.text(flow.fit(value, size: 10, width: 60 * mm, bold: false), x: 125 * mm, fromTop: iy + 3.8 * mm, size: 10, bold: false, color: .black)
            iy += 9 * mm
        }
        // fold marks (105 and 210 mm) and punch mark (148.5 mm)
        for (at, len) in [(105.0, 5.0), (148.5, 7.0), (210.0, 5.0)] {
            let yy = PDFWriter.pageHeight - at * mm
            w.pages[0].append(.line(x1: 3 * mm, y1: yy, x2: (3 + len) * mm, y2: yy, width: 0.3, color: .grey))
        }
        flow.cursor = max(103.4 * mm, iy + 2 * mm)
        flow.paragraph(letter.subject, size: 11, bold: true)
        flow.cursor += 4 * mm
        for b in letter.body { flow.block(b) }
        // footer on every page
        let columns = [lh.address, lh.contact, lh.bank].filter { !$0.isEmpty }
        flow.finish { page, count, ops in
            func baseline(_ fromTop: Double, _ size: Double) -> Double { PDFWriter.pageHeight - fromTop - size * 0.8 }
            var x = 25 * mm
            let colWidth = (PDFWriter.pageWidth - 45 * mm) / Double(max(1, columns.count))
            for col in columns {
                var fy = 270 * mm
                for line in col.prefix(4) {
                    ops.append(flow.textOp(flow.fit(line, size: 7, width: colWidth - 3 * mm, bold: false), x: x, y: baseline(fy, 7), size: 7, bold: false, color: .grey))
                    fy += 3.2 * mm
                }
                x += colWidth
            }
            ops.append(.line(x1: 25 * mm, y1: PDFWriter.pageHeight - 268 * mm, x2: PDFWriter.pageWidth - 20 * mm, y2: PDFWriter.pageHeight - 268 * mm, width: 0.3, color: .lightGrey))
            let label = "Seite \(page) von \(count)"
            let lw = w.regular.width(label, size: 8)
            ops.append(flow.textOp(label, x: PDFWriter.pageWidth - 20 * mm - lw, y: baseline(286 * mm, 8), size: 8, bold: false, color: .grey))
        }
        return w.write(info: info)
    }

    public static func render(_ c: Certificate, info: DocumentInfo) throws -> Data {
        let w = try writer()
        let mm = Self.mm
        var flow = Flow(writer: w, left: 30 * mm, right: PDFWriter.pageWidth - 30 * mm, top: 30 * mm, bottom: 25 * mm)
        flow.newPage(startAt: 0)
        // frame
        let m = 12 * mm
        for (x1, y1, x2, y2) in [(m, m, PDFWriter.pageWidth - m, m), (m, PDFWriter.pageHeight - m, PDFWriter.pageWidth - m, PDFWriter.pageHeight - m),
                                 (m, m, m, PDFWriter.pageHeight - m), (PDFWriter.pageWidth - m, m, PDFWriter.pageWidth - m, PDFWriter.pageHeight - m)] {
            w.pages[0].append(.line(x1: x1, y1: y1, x2: x2, y2: y2, width: 1.2, color: .accent))
        }
        flow.cursor = 45 * mm
        flow.centered(c.issuer, size: 12, bold: false, color: .grey)
        flow.cursor += 14 * mm
        flow.centered(c.title, size: 26, bold: true, color: .accent)
        flow.cursor += 12 * mm
        flow.centered(c.recipient, size: 18, bold: true, color: .black)
        flow.cursor += 8 * mm
        for line in c.lines { flow.centered(line, size: 12, bold: false, color: .black) }
        flow.cursor += 10 * mm
        flow.centered(c.placeAndDate, size: 11, bold: false, color: .black)
        // QR code, 40 mm, centred near the bottom, with the code and the address below
        let qr: QRCode
        do { qr = try QRCode(text: c.verificationURL) } catch let e as QRCode.QRError { throw DocumentError.qr(e) }
        let side = 40 * mm
        let module = side / Double(qr.size + 8)
        let x0 = (PDFWriter.pageWidth - side) / 2 + 4 * module, yTop = 70 * mm + side - 4 * module
        for y in 0..<qr.size {
            var x = 0
            while x < qr.size {
                guard qr.isDark(x: x, y: y) else { x += 1; continue }
                var run = 1
                while x + run < qr.size && qr.isDark(x: x + run, y: y) { run += 1 }
                w.pages[0].append(.rect(x: x0 + Double(x) * module, y: yTop - Double(y + 1) * module, w: Double(run) * module, h: module, color: .black))
                x += run
            }
        }
        flow.cursor = PDFWriter.pageHeight - 64 * mm
        flow.centered("Prüfcode: \(c.code)", size: 10, bold: true, color: .black)
        flow.centered(c.verificationURL, size: 8, bold: false, color: .grey)
        flow.finish { _, _, _ in }
        return w.write(info: info)
    }

    public static func render(_ r: Report, info: DocumentInfo) throws -> Data {
        let w = try writer()
        let mm = Self.mm
        var flow = Flow(writer: w, left: 20 * mm, right: PDFWriter.pageWidth - 20 * mm, top: 20 * mm, bottom: 22 * mm)
        flow.newPage(startAt: 20 * mm)
        flow.paragraph(r.title, size: 16, bold: true, color: .accent)
        if !r.subtitle.isEmpty { flow.paragraph(r.subtitle, size: 10, bold: false, color: .grey) }
        flow.cursor += 4 * mm
        for b in r.body { flow.block(b) }
        flow.finish { page, count, ops in
            let label = "Seite \(page) von \(count)"
            let lw = w.regular.width(label, size: 8)
            ops.append(flow.textOp(label, x: PDFWriter.pageWidth - 20 * mm - lw, y: 12 * mm, size: 8, bold: false, color: .grey))
            if !r.footer.isEmpty { ops.append(flow.textOp(flow.fit(r.footer, size: 8, width: 120 * mm, bold: false), x: 20 * mm, y: 12 * mm, size: 8, bold: false, color: .grey)) }
        }
        return w.write(info: info)
    }
}

/// Top-to-bottom layout with page breaks; `cursor` is the distance from the top of the page.
struct Flow {
    let writer: PDFWriter
    let left: Double, right: Double, top: Double, bottom: Double
    var cursor = 0.0
    var width: Double { right - left }

    init(writer: PDFWriter, left: Double, right: Double, top: Double, bottom: Double) {
        self.writer = writer; self.left = left; self.right = right; self.top = top; self.bottom = bottom
    }

    mutating func newPage(startAt: Double? = nil) {
        writer.pages.append([])
        cursor = startAt ?? top
    }

    var room: Double { PDFWriter.pageHeight - bottom - cursor }

    mutating func ensure(_ height: Double) { if room < height { newPage() } }

    func textOp(_ s: String, x: Double, y: Double, size: Double, bold: Bool, color: RGB) -> DrawOp {
        .text(bold: bold, size: size, x: x, y: y, glyphs: writer.glyphs(s, bold: bold), color: color)
    }

    /// Text with its top at `fromTop` on the current page.
    func text(_ s: String, x: Double, fromTop: Double, size: Double, bold: Bool, color: RGB) {
        let baseline = PDFWriter.pageHeight - fromTop - size * 0.8
        writer.pages[writer.pages.count - 1].append(textOp(s, x: x, y: baseline, size: size, bold: bold, color: color))
    }

    /// Cuts a single line to `width` with an ellipsis (address lines, footer entries).
    func fit(_ s: String, size: Double, width: Double, bold: Bool) -> String {
        let f = writer.font(bold)
        if f.width(s, size: size) <= width { return s }
        var t = s
        while !t.isEmpty && f.width(t + "…", size: size) > width { t.removeLast() }
        return t + "…"
    }

    /// Word wrap; words longer than a line are broken by characters.
    func wrap(_ text: String, size: Double, width: Double, bold: Bool) -> [String] {
        let f = writer.font(bold)
        var lines: [String] = []
        for para in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in para.split(separator: " ", omittingEmptySubsequences: true) {
                let candidate = line.isEmpty ? String(word) : line + " " + word
                if f.width(candidate, size: size) <= width { line = candidate; continue }
                if !line.isEmpty { lines.append(line); line = "" }
                var piece = ""
                for ch in word {
                    if f.width(piece + String(ch), size: size) > width && !piece.isEmpty { lines.append(piece); piece = "" }
                    piece.append(ch)
                }
                line = piece
            }
            lines.append(line)
        }
        return lines
    }

    mutating func paragraph(_ content: String, size: Double = 10, bold: Bool = false, color: RGB = .black, indent: Double = 0) {
        let lead = size * 1.4
        for line in wrap(content, size: size, width: width - indent, bold: bold) {
            ensure(lead)
            text(line, x: left + indent, fromTop: cursor, size: size, bold: bold, color: color)
            cursor += lead
        }
    }

    mutating func centered(_ s: String, size: Double, bold: Bool, color: RGB) {
        for line in wrap(s, size: size, width: width, bold: bold) {
            let w = writer.font(bold).width(line, size: size)
            text(line, x: (PDFWriter.pageWidth - w) / 2, fromTop: cursor, size: size, bold: bold, color: color)
            cursor += size * 1.4
        }
    }

    mutating func block(_ b: Block) {
        switch b {
        case .heading(let s):
            // a heading never stands alone at the bottom of a page
            cursor += 3
            ensure(12 * 1.4 + 3 * 10 * 1.4)
            paragraph(s, size: 12, bold: true)
            cursor += 2
        case .paragraph(let s):
            paragraph(s)
            cursor += 4
        case .bold(let s):
            paragraph(s, bold: true)
            cursor += 4
        case .facts(let pairs):
            table(Table(columns: [.init("", width: 0.35), .init("", width: 0.65)], rows: pairs.map { [$0.0, $0.1] }), header: false, boldFirst: true)
            cursor += 4
        case .table(let t):
            table(t, header: true, boldFirst: false)
            cursor += 4
        case .spacer(let h):
            cursor += h
        }
    }

    /// Rows wrap within their cells; a row that does not fit starts a new page, which repeats the header.
    mutating func table(_ t: Table, header: Bool, boldFirst: Bool) {
        let size = 9.0, lead = 9.0 * 1.35, pad = 2.5
        let total = t.columns.reduce(0) { $0 + $1.width }
        let widths = t.columns.map { $0.width / max(total, 0.0001) * width }
        func cells(_ row: [String], bold: Bool) -> [[String]] {
            widths.indices.map { i in wrap(i < row.count ? row[i] : "", size: size, width: widths[i] - 2 * pad, bold: bold || (boldFirst && i == 0)) }
        }
        func draw(_ lines: [[String]], bold: Bool) {
            var x = left
            for (i, col) in lines.enumerated() {
                var y = cursor + pad
                let b = bold || (boldFirst && i == 0)
                for line in col {
                    let f = writer.font(b)
                    let lw = f.width(line, size: size)
                    let lx: Double
                    switch t.columns[i].alignment {
                    case .left: lx = x + pad
                    case .right: lx = x + widths[i] - pad - lw
                    case .center: lx = x + (widths[i] - lw) / 2
                    }
                    text(line, x: lx, fromTop: y, size: size, bold: b, color: .black)
                    y += lead
                }
                x += widths[i]
            }
        }
        func rule(_ color: RGB, _ lw: Double) {
            let y = PDFWriter.pageHeight - cursor
            writer.pages[writer.pages.count - 1].append(.line(x1: left, y1: y, x2: right, y2: y, width: lw, color: color))
        }
        let head = cells(t.columns.map(\.title), bold: true)
        let headHeight = Double(head.map(\.count).max() ?? 1) * lead + 2 * pad
        func drawHeader() {
            guard header else { return }
            draw(head, bold: true)
            cursor += headHeight
            rule(.black, 0.6)
        }
        ensure((header ? headHeight : 0) + lead + 2 * pad)
        drawHeader()
        for row in t.rows {
            let lines = cells(row, bold: false)
            let h = Double(lines.map(\.count).max() ?? 1) * lead + 2 * pad
            if room < h {
                newPage()
                drawHeader()
            }
            draw(lines, bold: false)
            cursor += h
            rule(.lightGrey, 0.4)
        }
    }

    /// Adds what every page carries once the page count is known.
    func finish(_ decorate: (Int, Int, inout [DrawOp]) -> Void) {
        let count = writer.pages.count
        for i in 0..<count { decorate(i + 1, count, &writer.pages[i]) }
    }
}
