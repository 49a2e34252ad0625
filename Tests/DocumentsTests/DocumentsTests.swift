import Foundation
import XCTest
@testable import Documents
import TestFixtures

/// The PDFs are checked with tools that share nothing with the renderer: qpdf (structure),
/// pypdf (pages, extracted text, metadata), poppler + zxing-cpp (the QR code as printed).
/// Without the tools the checks skip with one line saying what to install (CI installs them).
final class DocumentsTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    func run(_ args: [String]) throws -> (Int32, String) { try ExternalTool.run(args) }

    /// The independent checks need qpdf, poppler-utils, pypdf, zxing-cpp and pillow (CI installs
    /// them); without them only the renderer's own checks run, and one line says what is missing.
    func toolsAvailable() throws -> Bool {
        let (q, _) = try run(["qpdf", "--version"])
        let (py, _) = try run(["python3", "-c", "import pypdf, zxingcpp, PIL"])
        let (pp, _) = try run(["pdftoppm", "-v"])
        if q != 0 || py != 0 || pp != 0 {
            print("ÜBERSPRUNGEN (nur die Prüfung mit fremden Werkzeugen): bitte installieren: apt-get install qpdf poppler-utils; pip install pypdf zxing-cpp pillow")
            return false
        }
        return true
    }

    func write(_ data: Data, _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rathaus-\(UUID().uuidString)-\(name)")
        try data.write(to: url)
        return url.path
    }

    func check(_ path: String) throws -> [String: Any] {
        let (rc, qpdf) = try run(["qpdf", "--check", path])
        XCTAssertEqual(rc, 0, qpdf)
        XCTAssertTrue(qpdf.contains("No syntax or stream encoding errors found"), qpdf)
        let (prc, json) = try run(["python3", Self.here.appendingPathComponent("pdfcheck.py").path, path])
        XCTAssertEqual(prc, 0, json)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    static func words(_ s: String) -> [String] { s.split(whereSeparator: { $0.isWhitespace }).map(String.init) }

    static let letterhead = Letterhead(organisation: "Stadt Erfurt", office: "Bürgeramt", address: ["Fischmarkt 1", "99084 Erfurt"],
                                       contact: ["Telefon 0361 655-0", "buergeramt@erfurt.de"], bank: ["Sparkasse Mittelthüringen", "IBAN DE12 8205 1000 0130 0000 00"])

    func testDecisionLetterPassesQpdfAndItsTextReadsBack() throws {
        let body = "Sehr geehrte Frau Müller, Ihrem Antrag auf Erteilung eines Bewohnerparkausweises für die Zone Altstadt wird stattgegeben. Die Gebühr von 30,70 € ist bereits beglichen. Straße, Maß und Größe: äöüß ÄÖÜ."
        let letter = Letter(letterhead: Self.letterhead, recipient: ["Frau", "Erika Müller", "Große Straße 5", "99084 Erfurt"],
                            information: [("Aktenzeichen", "TH-2026-000123"), ("Datum", "04.12.2026")],
                            subject: "Bescheid über Ihren Antrag „Bewohnerparkausweis“", body: [.paragraph(body), .paragraph("Mit freundlichen Grüßen"), .paragraph("Ihr Bürgeramt")])
        let data = try PDFRenderer.render(letter, info: DocumentInfo(title: "Bescheid TH-2026-000123", author: "Stadt Erfurt, Bürgeramt"))
        XCTAssertLessThan(data.count, 60_000, "a one-page letter stays small: \(data.count) bytes")
        XCTAssertTrue(data.starts(with: Data("%PDF-1.7".utf8)))
        guard try toolsAvailable() else { return }
        let path = try write(data, "bescheid.pdf")
        let r = try check(path)
        XCTAssertEqual(r["pages"] as? Int, 1)
        let text = (r["text"] as? [String])?.joined(separator: " ") ?? ""
        // every word of the body comes back, umlauts, ß and € included, in order
        let got = Self.words(text).joined(separator: " ")
        XCTAssertTrue(got.contains(Self.words(body).joined(separator: " ")), got)
        for s in ["Erika Müller", "TH-2026-000123", "Bescheid über Ihren Antrag „Bewohnerparkausweis“", "Seite 1 von 1", "IBAN DE12 8205 1000 0130 0000 00"] {
            XCTAssertTrue(got.contains(s), s)
        }
        XCTAssertEqual(r["title"] as? String, "Bescheid TH-2026-000123")
        XCTAssertEqual(r["author"] as? String, "Stadt Erfurt, Bürgeramt")
        XCTAssertEqual(r["pdfa_part"] as? String, "2")
        XCTAssertEqual(r["pdfa_conformance"] as? String, "B")
        XCTAssertEqual(r["embedded"] as? Bool, true)
        XCTAssertEqual(r["output_intent"] as? Bool, true)
        let fonts = r["fonts"] as? [String] ?? []
        XCTAssertTrue(fonts.allSatisfy { $0.range(of: #"^/[A-Z]{6}\+DejaVuSans"#, options: .regularExpression) != nil }, "\(fonts)")
        XCTAssertLessThan(data.count, 60_000, "a one-page letter stays small: \(data.count) bytes")
    }

    func testLongTableBreaksPagesRepeatsItsHeaderAndNumbersPages() throws {
        var rows: [[String]] = []
        for i in 1...400 { rows.append(["\(i)", "Gemeinde \(i) – Straßenbeleuchtung", String(format: "%d,%02d €", i * 13, i % 100)]) }
        let report = Report(title: "Übersicht Fördermittel", subtitle: "Stand 04.12.2026", body: [
            .heading("Bewilligungen"), .table(Table(columns: [.init("Nr.", width: 0.1, alignment: .right), .init("Vorhaben", width: 0.6), .init("Betrag", width: 0.3, alignment: .right)], rows: rows)),
        ], footer: "Rathaus – Bericht")
        let data = try PDFRenderer.render(report, info: DocumentInfo(title: "Übersicht Fördermittel", author: "Land Thüringen"))
        guard try toolsAvailable() else { return }
        let r = try check(try write(data, "bericht.pdf"))
        let pages = try XCTUnwrap(r["pages"] as? Int)
        XCTAssertGreaterThan(pages, 5)
        let texts = try XCTUnwrap(r["text"] as? [String])
        for (i, t) in texts.enumerated() {
            XCTAssertTrue(t.contains("Vorhaben"), "header repeated on page \(i + 1)")
            XCTAssertTrue(t.contains("Seite \(i + 1) von \(pages)"), "page number on page \(i + 1)")
        }
        let all = texts.joined(separator: "\n")
        for i in [1, 57, 399, 400] { XCTAssertTrue(all.contains("Gemeinde \(i) – Straßenbeleuchtung"), "row \(i)") }
    }

    func testCertificateQRCodeDecodesToTheVerificationLink() throws {
        let url = "https://rathaus.example/nachweise/pruefen/KZ7Q-2M4X-9PLA"
        let cert = Certificate(issuer: "Kompetenzzentrum Digitale Verwaltung Thüringen", title: "Teilnahmebescheinigung", recipient: "Jörg Weiß",
                               lines: ["hat am 03.12.2026 an der Schulung", "„Informationssicherheit für Gemeinden“ teilgenommen."],
                               placeAndDate: "Erfurt, 04.12.2026", verificationURL: url, code: "KZ7Q-2M4X-9PLA")
        let data = try PDFRenderer.render(cert, info: DocumentInfo(title: "Teilnahmebescheinigung Jörg Weiß", author: "Kompetenzzentrum"))
        guard try toolsAvailable() else { return }
        let path = try write(data, "zertifikat.pdf")
        let r = try check(path)
        XCTAssertTrue(((r["text"] as? [String])?.first ?? "").contains("Jörg Weiß"))
        let (rc, decoded) = try run(["python3", Self.here.appendingPathComponent("qrdecode.py").path, path])
        XCTAssertEqual(rc, 0, decoded)
        XCTAssertEqual(decoded.trimmingCharacters(in: .whitespacesAndNewlines), url)
    }

    /// Every version this encoder supports, decoded by zxing-cpp from a rendered page.
    func testQRCodesOfAllSupportedLengthsDecode() throws {
        XCTAssertThrowsError(try QRCode(text: String(repeating: "x", count: 214)))
        XCTAssertEqual(try QRCode(text: "A").size, 21, "version 1")
        XCTAssertEqual(try QRCode(text: String(repeating: "x", count: 213)).size, 57, "version 10")
        guard try toolsAvailable() else { return }
        for n in [1, 14, 26, 42, 62, 84, 106, 122, 152, 180, 213] {
            let text = String((0..<n).map { i in Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/:.-")[i * 7 % 66] })
            let cert = Certificate(issuer: "x", title: "QR", recipient: "y", lines: [], placeAndDate: "", verificationURL: text, code: "\(n)")
            let path = try write(try PDFRenderer.render(cert, info: DocumentInfo(title: "QR \(n)", author: "Test")), "qr\(n).pdf")
            let (_, decoded) = try run(["python3", Self.here.appendingPathComponent("qrdecode.py").path, path])
            XCTAssertEqual(decoded.trimmingCharacters(in: .whitespacesAndNewlines), text, "length \(n)")
        }
        XCTAssertThrowsError(try QRCode(text: String(repeating: "x", count: 214)))
    }

    func testSubsetFontKeepsOnlyUsedGlyphs() throws {
        let font = try XCTUnwrap(DocumentFonts.regular)
        let used = "Müller €".unicodeScalars.map(font.glyph)
        XCTAssertFalse(used.contains(0), "the font has umlauts and the euro sign")
        let (program, map) = font.subset(used)
        XCTAssertEqual(map[0], 0, ".notdef stays first")
        XCTAssertLessThan(program.count, 12_000, "\(program.count) bytes for a handful of glyphs")
        // the subset is a font again: the parser reads it and finds the same advance widths
        let again = try TrueTypeFont(data: program, postScriptName: "x", characterMap: false)
        for g in used { XCTAssertEqual(again.advance(map[g]!), font.advance(g)) }
    }
}

extension DocumentsTests {
    /// Writes sample documents to RATHAUS_PDF_SAMPLES (a directory) for a person to look at.
    func testWriteSamplesWhenAsked() throws {
        guard let dir = ProcessInfo.processInfo.environment["RATHAUS_PDF_SAMPLES"] else { return }
        let letter = Letter(letterhead: Self.letterhead, recipient: ["Frau", "Erika Müller", "Große Straße 5", "99084 Erfurt"],
                            information: [("Aktenzeichen", "TH-2026-000123"), ("Ihre Nachricht vom", "01.12.2026"), ("Datum", "04.12.2026"), ("Ansprechpartnerin", "Frau Beispiel")],
                            subject: "Bescheid über Ihren Antrag „Bewohnerparkausweis“",
                            body: [.paragraph("Sehr geehrte Frau Müller,"), .paragraph(String(repeating: "Ihrem Antrag wird stattgegeben. ", count: 12)),
                                   .heading("Begründung"), .paragraph(String(repeating: "Die Voraussetzungen liegen vor. ", count: 30)),
                                   .facts([("Gebühr", "30,70 €"), ("Kassenzeichen", "EF-2026-0000123")]),
                                   .heading("Rechtsbehelfsbelehrung"), .paragraph(String(repeating: "Gegen diesen Bescheid kann innerhalb eines Monats Widerspruch erhoben werden. ", count: 8)),
                                   .paragraph("Mit freundlichen Grüßen"), .paragraph("Ihr Bürgeramt")])
        try PDFRenderer.render(letter, info: DocumentInfo(title: "Bescheid", author: "Stadt Erfurt")).write(to: URL(fileURLWithPath: dir + "/brief.pdf"))
        let cert = Certificate(issuer: "Kompetenzzentrum Digitale Verwaltung Thüringen", title: "Teilnahmebescheinigung", recipient: "Jörg Weiß",
                               lines: ["hat am 03.12.2026 an der Schulung", "„Informationssicherheit für Gemeinden“ teilgenommen."],
                               placeAndDate: "Erfurt, 04.12.2026", verificationURL: "https://rathaus.example/nachweise/pruefen/KZ7Q-2M4X-9PLA", code: "KZ7Q-2M4X-9PLA")
        try PDFRenderer.render(cert, info: DocumentInfo(title: "Bescheinigung", author: "KDV")).write(to: URL(fileURLWithPath: dir + "/zertifikat.pdf"))
    }
}

/// The tenant's logo in the letterhead: PNG (with alpha as a soft mask, grey) and JPEG, read back by
/// pypdf + Pillow and compared sample by sample with the original; unsupported files are refused.
extension DocumentsTests {
    static var images: URL { here.deletingLastPathComponent().appendingPathComponent("Fixtures/images") }

    func letter(logo: PDFImage) throws -> Data {
        var lh = DocumentsTests.letterhead
        lh.logo = logo
        let letter = Letter(letterhead: lh, recipient: ["Erika Müller", "Große Straße 5", "99084 Erfurt"], information: [("Datum", "05.12.2026")],
                            subject: "Bescheid", body: [.paragraph("Mit freundlichen Grüßen")])
        return try PDFRenderer.render(letter, info: DocumentInfo(title: "Bescheid", author: "Stadt Erfurt"))
    }

    func testLetterheadLogosAreEmbeddedAndReadBackUnchanged() throws {
        let t = self
        for file in ["wappen-rgba.png", "wappen-grau.png", "wappen.jpg"] {
            let tolerance = 0
            let source = try Data(contentsOf: Self.images.appendingPathComponent(file))
            let img = try PDFImage.load(source)
            XCTAssertEqual(img.width, 90, file); XCTAssertEqual(img.height, 40, file)
            XCTAssertEqual(img.components, file.contains("grau") ? 1 : 3, file)
            let pdf = try letter(logo: img)
            XCTAssertLessThan(pdf.count, 60_000, file)
            guard try t.toolsAvailable() else { return }
            let path = try t.write(pdf, "logo.pdf")
            _ = try t.check(path)
            let (rc, json) = try t.run(["python3", DocumentsTests.here.appendingPathComponent("imagecheck.py").path, path,
                                        Self.images.appendingPathComponent(file).path])
            XCTAssertEqual(rc, 0, json)
            let r = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            XCTAssertEqual(r["images"] as? Int, 1, file)
            XCTAssertEqual(r["width"] as? Int, 90, file)
            XCTAssertEqual(r["max_difference"] as? Int, tolerance, "\(file): \(json)")
            if file.hasSuffix(".jpg") { XCTAssertEqual(r["raw_equal"] as? Bool, true, "a JPEG is embedded byte for byte") }
        }
    }

    func testUnsupportedOrHostileLogoImagesAreRefused() throws {
        let load = { (name: String) throws -> Data in try Data(contentsOf: Self.images.appendingPathComponent(name)) }
        XCTAssertThrowsError(try PDFImage.load(try load("wappen-zeilensprung.png"))) { XCTAssertEqual($0 as? PDFImage.ImageError, .unsupported) }
        XCTAssertThrowsError(try PDFImage.load(try load("wappen-16bit.png"))) { XCTAssertEqual($0 as? PDFImage.ImageError, .unsupported) }
        XCTAssertThrowsError(try PDFImage.load(Data("GIF89a".utf8))) { XCTAssertEqual($0 as? PDFImage.ImageError, .unsupported) }
        // a header that claims 100,000 × 100,000 pixels is refused before anything is inflated
        var png = try load("wappen-rgba.png")
        png.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])
        XCTAssertThrowsError(try PDFImage.load(png)) { XCTAssertEqual($0 as? PDFImage.ImageError, .tooLarge) }
        // 4,294,967,295² pixels: the size check itself must not overflow
        png.replaceSubrange(16..<24, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try PDFImage.load(png)) { XCTAssertEqual($0 as? PDFImage.ImageError, .tooLarge) }
        // truncated data and more data than the header announces are corrupt
        let good = try load("wappen-rgba.png")
        XCTAssertThrowsError(try PDFImage.load(good.prefix(good.count - 30)))
        var jpeg = try load("wappen.jpg")
        jpeg = jpeg.prefix(20)
        XCTAssertThrowsError(try PDFImage.load(jpeg)) { XCTAssertEqual($0 as? PDFImage.ImageError, .corrupt) }
        XCTAssertThrowsError(try PDFImage.load(Data(count: PDFImage.maxFileBytes + 1))) { XCTAssertEqual($0 as? PDFImage.ImageError, .tooLarge) }
    }
}
