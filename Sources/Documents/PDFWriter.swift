import CZlib
import Foundation

/// Who made the document and what it is about: the PDF's Info dictionary and its XMP metadata
/// (which PDF/A requires to agree).
public struct DocumentInfo: Sendable {
    public var title: String
    public var author: String
    public var subject: String
    public var created: Date
    /// BCP 47 language of the text, e.g. "de-DE".
    public var language: String
    public init(title: String, author: String, subject: String = "", created: Date = Date(), language: String = "de-DE") {
        self.title = title; self.author = author; self.subject = subject; self.created = created; self.language = language
    }
}

/// An RGB colour, components 0…1.
public struct RGB: Sendable, Equatable {
    public var r: Double, g: Double, b: Double
    public init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }
    public static let black = RGB(0, 0, 0)
    public static let grey = RGB(0.35, 0.35, 0.35)
    public static let lightGrey = RGB(0.85, 0.85, 0.85)
    public static let accent = RGB(0.0, 0.28, 0.55)
}

/// What a page shows, in points from the bottom left. Glyph ids are the font's own until the
/// document is written (then the subset's).
enum DrawOp {
    case text(bold: Bool, size: Double, x: Double, y: Double, glyphs: [UInt16], color: RGB)
    case rect(x: Double, y: Double, w: Double, h: Double, color: RGB)
    case line(x1: Double, y1: Double, x2: Double, y2: Double, width: Double, color: RGB)
    /// An image of `PDFWriter.images`, scaled into the box.
    case image(index: Int, x: Double, y: Double, w: Double, h: Double)
}

/// Collects pages and writes a PDF/A-2b file: fonts embedded as subsets (Type0/CIDFontType2,
/// Identity-H, with a ToUnicode map so the text can be extracted and searched), content streams
/// deflated, an sRGB output intent, XMP metadata in sync with the Info dictionary.
final class PDFWriter {
    static let pageWidth = 595.28, pageHeight = 841.89
    let regular: TrueTypeFont
    let bold: TrueTypeFont
    var pages: [[DrawOp]] = []
    var images: [PDFImage] = []
    /// old glyph id → the character it was chosen for, per face
    private var unicode: [Bool: [UInt16: UInt32]] = [false: [:], true: [:]]

    init(regular: TrueTypeFont, bold: TrueTypeFont) {
        self.regular = regular
        self.bold = bold
    }

    func font(_ bold: Bool) -> TrueTypeFont { bold ? self.bold : regular }

    /// Glyphs of a text, remembering which character each stands for.
    func glyphs(_ text: String, bold: Bool) -> [UInt16] {
        let f = font(bold)
        var out: [UInt16] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            // line breaks and tabs never reach a page; a missing glyph shows as .notdef
            let g = f.glyph(s)
            out.append(g)
            if unicode[bold]![g] == nil { unicode[bold]![g] = s.value }
        }
        return out
    }

    func write(info: DocumentInfo) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(64 * 1024)
        var offsets: [Int] = [0]
        func obj(_ body: String) -> Int {
            offsets.append(out.count)
            let n = offsets.count - 1
            out += Array("\(n) 0 obj\n".utf8) + Array(body.utf8) + Array("\nendobj\n".utf8)
            return n
        }
        func stream(_ dict: String, _ data: [UInt8], compress: Bool = true) -> Int {
            offsets.append(out.count)
            let n = offsets.count - 1
            let payload = compress ? Self.deflate(data) : data
            out += Array("\(n) 0 obj\n<< \(dict)\(compress ? " /Filter /FlateDecode" : "") /Length \(payload.count) >>\nstream\n".utf8)
            out += payload
            out += Array("\nendstream\nendobj\n".utf8)
            return n
        }
        out += Array("%PDF-1.7\n".utf8) + [0x25, 0xE2, 0xE3, 0xCF, 0xD3, 0x0A]

        // fonts used on any page, subset
        var usedGlyphs: [Bool: [UInt16]] = [false: [], true: []]
        var seen: [Bool: Set<UInt16>] = [false: [], true: []]
        for page in pages { for op in page { if case .text(let b, _, _, _, let gs, _) = op {
            for g in gs where !seen[b]!.contains(g) { seen[b]!.insert(g); usedGlyphs[b]!.append(g) }
        } } }
        var fontRefs: [Bool: Int] = [:]
        var mapping: [Bool: [UInt16: UInt16]] = [:]
        for b in [false, true] where !usedGlyphs[b]!.isEmpty {
            let f = font(b)
            let (program, newID) = f.subset(usedGlyphs[b]!)
            mapping[b] = newID
            let tag = Self.subsetTag(usedGlyphs[b]!, bold: b)
            let name = "\(tag)+\(f.postScriptName)"
            let file = stream("/Length1 \(program.count)", [UInt8](program))
            let bb = f.pdfBBox
            let descriptor = obj("<< /Type /FontDescriptor /FontName /\(name) /Flags 4 /FontBBox [\(bb.map(String.init).joined(separator: " "))] /ItalicAngle 0 /Ascent \(f.ascender * 1000 / f.unitsPerEm) /Descent \(f.descender * 1000 / f.unitsPerEm) /CapHeight \(f.capHeight * 1000 / f.unitsPerEm) /StemV \(b ? 120 : 80) /FontFile2 \(file) 0 R >>")
            // widths of the subset, in its order
            var byNew = [(UInt16, UInt16)](newID.map { ($0.value, $0.key) })
            byNew.sort { $0.0 < $1.0 }
            let widths = byNew.map { String(Int(f.advance($0.1).rounded())) }.joined(separator: " ")
            let cid = obj("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /\(name) /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor \(descriptor) 0 R /CIDToGIDMap /Identity /DW 1000 /W [0 [\(widths)]] >>")
            var cmap = "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            let pairs = byNew.compactMap { n, old -> (UInt16, UInt32)? in unicode[b]![old].map { (n, $0) } }
            for chunk in stride(from: 0, to: pairs.count, by: 100) {
                let part = pairs[chunk..<min(chunk + 100, pairs.count)]
                cmap += "\(part.count) beginbfchar\n"
                for (n, u) in part { cmap += "<\(Self.hex4(Int(n)))> <\(Self.utf16Hex(u))>\n" }
                cmap += "endbfchar\n"
            }
            cmap += "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
            let toUnicode = stream("", Array(cmap.utf8))
            fontRefs[b] = obj("<< /Type /Font /Subtype /Type0 /BaseFont /\(name) /Encoding /Identity-H /DescendantFonts [\(cid) 0 R] /ToUnicode \(toUnicode) 0 R >>")
        }
        // images as XObjects; PNG alpha as a soft mask
        var imageDict = ""
        for (i, img) in images.enumerated() {
            func raw(_ dict: String, _ data: [UInt8]) -> Int {
                offsets.append(out.count)
                let n = offsets.count - 1
                out += Array("\(n) 0 obj\n<< \(dict) /Length \(data.count) >>\nstream\n".utf8) + data + Array("\nendstream\nendobj\n".utf8)
                return n
            }
            let filter = img.format == .jpeg ? "/DCTDecode" : "/FlateDecode"
            let space = img.components == 3 ? "/DeviceRGB" : "/DeviceGray"
            var mask = ""
            if let alpha = img.alpha {
                mask = " /SMask \(raw("/Type /XObject /Subtype /Image /Width \(img.width) /Height \(img.height) /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", alpha)) 0 R"
            }
            let ref = raw("/Type /XObject /Subtype /Image /Width \(img.width) /Height \(img.height) /ColorSpace \(space) /BitsPerComponent 8 /Filter \(filter)\(mask)", img.data)
            imageDict += " /Im\(i) \(ref) 0 R"
        }
        var fontDict = "<<"
        if let r = fontRefs[false] { fontDict += " /F1 \(r) 0 R" }
        if let r = fontRefs[true] { fontDict += " /F2 \(r) 0 R" }
        fontDict += " >>"

        // pages: the Pages object is written last, so its number is known only then; reserve it
        let pagesNumber = offsets.count + pages.count * 2
        var pageRefs: [Int] = []
        for page in pages {
            var c = ""
            c.reserveCapacity(4096)
            for op in page {
                switch op {
                case .text(let b, let size, let x, let y, let gs, let color):
                    let map = mapping[b] ?? [:]
                    let hex = gs.map { Self.hex4(Int(map[$0] ?? 0)) }.joined()
                    c += "BT \(Self.n(color.r)) \(Self.n(color.g)) \(Self.n(color.b)) rg /\(b ? "F2" : "F1") \(Self.n(size)) Tf 1 0 0 1 \(Self.n(x)) \(Self.n(y)) Tm <\(hex)> Tj ET\n"
                case .rect(let x, let y, let w, let h, let color):
                    c += "\(Self.n(color.r)) \(Self.n(color.g)) \(Self.n(color.b)) rg \(Self.n(x)) \(Self.n(y)) \(Self.n(w)) \(Self.n(h)) re f\n"
                case .line(let x1, let y1, let x2, let y2, let width, let color):
                    c += "\(Self.n(color.r)) \(Self.n(color.g)) \(Self.n(color.b)) RG \(Self.n(width)) w \(Self.n(x1)) \(Self.n(y1)) m \(Self.n(x2)) \(Self.n(y2)) l S\n"
                case .image(let index, let x, let y, let w, let h):
                    c += "q \(Self.n(w)) 0 0 \(Self.n(h)) \(Self.n(x)) \(Self.n(y)) cm /Im\(index) Do Q\n"
                }
            }
            let content = stream("", Array(c.utf8))
            pageRefs.append(obj("<< /Type /Page /Parent \(pagesNumber) 0 R /MediaBox [0 0 \(Self.pageWidth) \(Self.pageHeight)] /Resources << /Font \(fontDict)\(imageDict.isEmpty ? "" : " /XObject <<\(imageDict) >>") >> /Contents \(content) 0 R >>"))
        }
        let pagesRef = obj("<< /Type /Pages /Kids [\(pageRefs.map { "\($0) 0 R" }.joined(separator: " "))] /Count \(pages.count) >>")
        precondition(pagesRef == pagesNumber, "page tree numbering")

        let (pdfDate, xmpDate) = Self.dates(info.created)
        let xmp = """
        <?xpacket begin="\u{FEFF}" id="W5M0MpCehiHzreSzNTczkc9d"?>
        <x:xmpmeta xmlns:x="adobe:ns:meta/">
        <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
        <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
        <pdfaid:part>2</pdfaid:part>
        <pdfaid:conformance>B</pdfaid:conformance>
        <dc:format>application/pdf</dc:format>
        <dc:title><rdf:Alt><rdf:li xml:lang="x-default">\(Self.xml(info.title))</rdf:li></rdf:Alt></dc:title>
        <dc:creator><rdf:Seq><rdf:li>\(Self.xml(info.author))</rdf:li></rdf:Seq></dc:creator>
        \(info.subject.isEmpty ? "" : "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">\(Self.xml(info.subject))</rdf:li></rdf:Alt></dc:description>")
        <dc:language><rdf:Bag><rdf:li>\(Self.xml(info.language))</rdf:li></rdf:Bag></dc:language>
        <xmp:CreateDate>\(xmpDate)</xmp:CreateDate>
        <xmp:ModifyDate>\(xmpDate)</xmp:ModifyDate>
        <xmp:CreatorTool>Rathaus</xmp:CreatorTool>
        <pdf:Producer>Rathaus Documents</pdf:Producer>
        </rdf:Description>
        </rdf:RDF>
        </x:xmpmeta>
        <?xpacket end="w"?>
        """
        // PDF/A: the metadata stream stays unfiltered so archives can read it without decoding
        let metadata = stream("/Type /Metadata /Subtype /XML", Array(xmp.utf8), compress: false)
        let icc = stream("/N 3", [UInt8](SRGBProfile.data))
        let intent = obj("<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) /DestOutputProfile \(icc) 0 R >>")
        let catalog = obj("<< /Type /Catalog /Pages \(pagesRef) 0 R /Metadata \(metadata) 0 R /OutputIntents [\(intent) 0 R] /Lang (\(info.language)) /ViewerPreferences << /DisplayDocTitle true >> >>")
        var infoDict = "<< /Title \(Self.text(info.title)) /Author \(Self.text(info.author)) /Creator (Rathaus) /Producer (Rathaus Documents) /CreationDate (\(pdfDate)) /ModDate (\(pdfDate))"
        if !info.subject.isEmpty { infoDict += " /Subject \(Self.text(info.subject))" }
        let infoRef = obj(infoDict + " >>")

        let xref = out.count
        var x = "xref\n0 \(offsets.count)\n0000000000 65535 f \n"
        for o in offsets.dropFirst() { x += String(format: "%010d 00000 n \n", o) }
        let id = Self.fileID(out)
        x += "trailer\n<< /Size \(offsets.count) /Root \(catalog) 0 R /Info \(infoRef) 0 R /ID [<\(id)> <\(id)>] >>\nstartxref\n\(xref)\n%%EOF\n"
        out += Array(x.utf8)
        return Data(out)
    }

    // MARK: helpers

    static func n(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        if r == r.rounded() { return String(Int(r)) }
        return String(format: "%.2f", r)
    }

    static let hexDigits = Array("0123456789ABCDEF".utf8)

    static func hex4(_ v: Int) -> String {
        String(decoding: [hexDigits[v >> 12 & 15], hexDigits[v >> 8 & 15], hexDigits[v >> 4 & 15], hexDigits[v & 15]], as: UTF8.self)
    }

    static func utf16Hex(_ scalar: UInt32) -> String {
        guard let s = Unicode.Scalar(scalar) else { return "FFFD" }
        return String(s).utf16.map { hex4(Int($0)) }.joined()
    }

    /// A PDF text string: ASCII as a literal, anything else as UTF-16BE with byte order mark.
    static func text(_ s: String) -> String {
        if s.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) {
            return "(" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "(", with: "\\(").replacingOccurrences(of: ")", with: "\\)") + ")"
        }
        return "<FEFF" + s.utf16.map { hex4(Int($0)) }.joined() + ">"
    }

    static func xml(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// "D:20261204213000+01'00'" and "2026-12-04T21:30:00+01:00", Berlin time, to the second.
    static func dates(_ d: Date) -> (String, String) {
        let tz = TimeZone(identifier: "Europe/Berlin") ?? .gmt
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: d)
        let off = tz.secondsFromGMT(for: d) / 60
        let sign = off >= 0 ? "+" : "-"
        let oh = String(format: "%02d", abs(off) / 60), om = String(format: "%02d", abs(off) % 60)
        let base = String(format: "%04d%02d%02d%02d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        let iso = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        return ("D:\(base)\(sign)\(oh)'\(om)'", "\(iso)\(sign)\(oh):\(om)")
    }

    /// Six capital letters naming the subset (PDF convention), stable for the same glyphs.
    static func subsetTag(_ glyphs: [UInt16], bold: Bool) -> String {
        var h: UInt64 = bold ? 0x9E37_79B9_7F4A_7C15 : 0xCBF2_9CE4_8422_2325
        for g in glyphs { h = (h ^ UInt64(g)) &* 0x100_0000_01B3 }
        var s = ""
        for _ in 0..<6 { s.append(Character(Unicode.Scalar(UInt8(65 + h % 26)))); h /= 26 }
        return s
    }

    /// 16 bytes for the file identifier: two FNV-1a passes over the body written so far.
    static func fileID(_ bytes: [UInt8]) -> String {
        var a: UInt64 = 0xCBF2_9CE4_8422_2325, b: UInt64 = 0x8422_2325_CBF2_9CE4
        for x in bytes { a = (a ^ UInt64(x)) &* 0x100_0000_01B3; b = (b ^ UInt64(x ^ 0x5A)) &* 0x100_0000_01B3 }
        return String(format: "%016llX%016llX", a, b)
    }

    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let rc = data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                compress2(dst.baseAddress, &size, src.baseAddress, uLong(data.count), 6)
            }
        }
        precondition(rc == Z_OK, "zlib compress2 failed")
        return Array(out[0..<Int(size)])
    }
}
