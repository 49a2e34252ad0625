import Foundation
import XCTest
@testable import XRechnung

/// Large base64 attachments are checked natively and handed to libxml2 as a placeholder; the
/// verdicts, line numbers and the attachment text must be exactly what libxml2 alone gives.
final class AttachmentShortcutTests: XCTestCase {
    func ok(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBufferPointer { Attachments.base64OK($0, 0..<bytes.count) }
    }

    func testBase64RuleIsLibxml2s() {
        XCTAssertTrue(ok("QUJD"))                 // ABC
        XCTAssertTrue(ok("QUI="))                 // AB, last char Q(16) & ~0x3c == 0
        XCTAssertFalse(ok("QUJ="))                // J(9) has bits outside 0x3c
        XCTAssertTrue(ok("QQ=="))                 // A
        XCTAssertFalse(ok("QR=="))                // R(17) has bits outside 0x30
        XCTAssertFalse(ok("QUJDR"))               // 5 characters
        XCTAssertFalse(ok("QQ==QQ=="))            // alphabet after padding
        XCTAssertFalse(ok("Q==="))                // three pads
        XCTAssertTrue(ok("QU\nJD\r\n  #!"))       // characters outside the alphabet are ignored (as libxml2 does)
        XCTAssertTrue(ok(""))
    }

    static func withAttachment(_ content: String) -> Data {
        Data("""
        <?xml version="1.0" encoding="UTF-8"?>
        <r xmlns:cbc="urn:x"><a>
        <cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="a>b.pdf">\(content)</cbc:EmbeddedDocumentBinaryObject>
        <after/></a></r>
        """.utf8)
    }

    func testTreeGetsTheOriginalTextAndTheSameLines() throws {
        let line = String(repeating: "QUJD", count: 19)
        let content = Array(repeating: line, count: 60).joined(separator: "\r\n")  // > 2 KB, CRLF lines
        let data = Self.withAttachment(content)
        let (input, originals) = Attachments.substitute(data)
        XCTAssertEqual(originals.count, 1, "substituted")
        XCTAssertLessThan(input.count, data.count)
        let parsed = try SafeXML.parse(data)
        let att = try XCTUnwrap(parsed.root.first("a", "EmbeddedDocumentBinaryObject"))
        XCTAssertEqual(att.text, content.replacingOccurrences(of: "\r\n", with: "\n"), "text as libxml2 would give it")
        XCTAssertEqual(att.attribute("filename"), "a>b.pdf")
        let after = try XCTUnwrap(parsed.root.first("a", "after"))
        XCTAssertEqual(after.line, 3 + 59 + 1, "line numbers unchanged: the 59 line breaks inside the attachment still count")
    }

    func testInvalidOrSpecialContentIsLeftToLibxml2() throws {
        let bad = String(repeating: "QUJD", count: 700) + "=QUJD"
        XCTAssertTrue(Attachments.substitute(Self.withAttachment(bad)).1.isEmpty, "invalid base64 is not replaced")
        let entity = String(repeating: "QUJD", count: 700) + "&#65;AAA"
        XCTAssertTrue(Attachments.substitute(Self.withAttachment(entity)).1.isEmpty, "content with references is not replaced")
        let small = "QUJD"
        XCTAssertTrue(Attachments.substitute(Self.withAttachment(small)).1.isEmpty)
        let parsed = try SafeXML.parse(Self.withAttachment(entity))
        XCTAssertTrue(try XCTUnwrap(parsed.root.first("a", "EmbeddedDocumentBinaryObject")).text.hasSuffix("AAAA"))
    }

    /// A real invoice with an embedded PDF: same report with and without the shortcut's input.
    func testVerdictOfARealInvoiceWithAttachment() throws {
        let url = OracleAgreementTests.base.appendingPathComponent("testsuite/business-cases/standard/01.15a-INVOICE_ubl.xml")
        guard let data = try? Data(contentsOf: url) else { throw XCTSkip("shared data missing") }
        XCTAssertFalse(Attachments.substitute(data).1.isEmpty, "the sample has a large attachment")
        let report = XRechnungValidator().validate(data)
        XCTAssertTrue(report.isValid)
        // a broken attachment is still found by the schema check
        var text = String(decoding: data, as: UTF8.self)
        let r = try XCTUnwrap(text.range(of: "<cbc:EmbeddedDocumentBinaryObject"))
        let close = try XCTUnwrap(text.range(of: ">", range: r.upperBound..<text.endIndex))
        text.insert(contentsOf: "=Q", at: text.index(close.upperBound, offsetBy: 100))
        let broken = XRechnungValidator().validate(Data(text.utf8))
        XCTAssertFalse(broken.isValid)
    }
}
