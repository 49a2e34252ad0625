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
        // No alphabet character at all: left to libxml2, so an element of only whitespace
        // stays visibly empty for PEPPOL-EN16931-R008.
        XCTAssertFalse(ok(""))
        XCTAssertFalse(ok(String(repeating: " \n", count: 2000)))
    }

    /// The eight-bytes-at-a-time path agrees with a plain byte-by-byte reading of libxml2's
    /// rule on random content near every boundary (padding anywhere, ignored characters).
    func testFastPathAgreesWithByteByByteRule() {
        func reference(_ b: [UInt8]) -> Bool {
            var count = 0, i = 0
            while i < b.count, Attachments.decode(b[i]) < 64 { if Attachments.decode(b[i]) >= 0 { count += 1 }; i += 1 }
            let firstPad = i
            var pad = 0
            while i < b.count { let d = Attachments.decode(b[i]); if d >= 0 && d < 64 { return false }; if d == 64 { pad += 1 }; i += 1 }
            if count == 0 { return false }
            var last: Int?
            var p = firstPad - 1
            while p >= 0 { let d = Attachments.decode(b[p]); if d >= 0 && d < 64 { last = d; break }; p -= 1 }
            switch pad {
            case 0: return count % 4 == 0
            case 1: return count % 4 == 3 && (last.map { $0 & ~0x3c == 0 } ?? false)
            case 2: return count % 4 == 2 && (last.map { $0 & ~0x30 == 0 } ?? false)
            default: return false
            }
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var rng = SystemRandomNumberGenerator()
        var agreeing = 0, valid = 0
        for _ in 0..<4000 {
            // (lengths across several 16-byte blocks: the vector path and its byte-wise remainder)
            let n = Int.random(in: 0...90, using: &rng)
            var b: [UInt8] = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            if Bool.random(using: &rng) { b.insert(0x0A, at: Int.random(in: 0...b.count, using: &rng)) }
            if Int.random(in: 0..<4, using: &rng) == 0 { b.insert(0x0D, at: Int.random(in: 0...b.count, using: &rng)) }
            // bytes next to the alphabet's ranges (and beyond ASCII), which the vector test must not take for it
            if Int.random(in: 0..<4, using: &rng) == 0 {
                let near: [UInt8] = [0x20, 0x2A, 0x2C, 0x2E, 0x3A, 0x40, 0x5B, 0x60, 0x7B, 0x7F, 0x80, 0xC3, 0xE1, 0xFF]
                b.insert(near.randomElement(using: &rng)!, at: Int.random(in: 0...b.count, using: &rng))
            }
            let pads = Int.random(in: 0...3, using: &rng)
            for _ in 0..<pads { b.insert(UInt8(ascii: "="), at: Bool.random(using: &rng) ? b.count : Int.random(in: 0...b.count, using: &rng)) }
            let fast = b.withUnsafeBufferPointer { Attachments.base64OK($0, 0..<b.count) }
            XCTAssertEqual(fast, reference(b), String(decoding: b, as: UTF8.self))
            // the line breaks counted on the way are those of the separate count
            if fast {
                XCTAssertEqual(b.withUnsafeBufferPointer { Attachments.scan($0, 0..<b.count, plainOnly: true)?.newlines },
                               b.withUnsafeBufferPointer { Attachments.lineBreaks($0, 0..<b.count) })
            }
            // up to the next markup: the same verdict, ending where the end tag begins
            let tagged = b + Array("</x>QUJD".utf8)
            let upTo = tagged.withUnsafeBufferPointer { Attachments.scan($0, 0..<tagged.count, plainOnly: true, untilMarkup: true) }
            XCTAssertEqual(upTo != nil, fast, String(decoding: b, as: UTF8.self))
            if let upTo { XCTAssertEqual(upTo.end, b.count) }
            if fast == reference(b) { agreeing += 1 }
            if fast { valid += 1 }
        }
        XCTAssertEqual(agreeing, 4000)
        XCTAssertGreaterThan(valid, 200, "the random cases include valid content")
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

    /// The tags are found by their common name ending: with or without a prefix, both names, and
    /// only start tags — not the name in text, in a comment's end tag, as part of a longer name
    /// or after another prefix separator.
    func testOnlyStartTagsOfTheTwoElementsAreFound() {
        let content = String(repeating: "QUJD", count: 700)
        func found(_ xml: String) -> Int { Attachments.substitute(Data(xml.utf8)).1.count }
        XCTAssertEqual(found("<r><EmbeddedDocumentBinaryObject>\(content)</EmbeddedDocumentBinaryObject></r>"), 1)
        XCTAssertEqual(found("<r><ram:AttachmentBinaryObject\n mimeCode=\"x\">\(content)</ram:AttachmentBinaryObject></r>"), 1)
        XCTAssertEqual(found("<r>BinaryObject EmbeddedDocumentBinaryObject>\(content)</r>"), 0, "text, no tag")
        XCTAssertEqual(found("<r><XEmbeddedDocumentBinaryObject>\(content)</XEmbeddedDocumentBinaryObject></r>"), 0, "a longer name")
        XCTAssertEqual(found("<r><a:EmbeddedDocumentBinaryObjects>\(content)</a:EmbeddedDocumentBinaryObjects></r>"), 0, "a longer name")
        XCTAssertEqual(found("<r><!EmbeddedDocumentBinaryObject>\(content)</r>"), 0, "markup declaration")
        XCTAssertEqual(found("<r><a x=\"1\"/><b:EmbeddedDocumentBinaryObject/>\(content)</r>"), 0, "empty element")
        // two attachments, the line of each start tag as libxml2 counts it
        let two = "<r>\n<a:EmbeddedDocumentBinaryObject>\(content)</a:EmbeddedDocumentBinaryObject>\r\n\r<a:AttachmentBinaryObject>\(content)</a:AttachmentBinaryObject></r>"
        let originals = Attachments.substitute(Data(two.utf8)).1
        XCTAssertEqual(originals.map(\.line), [2, 4])
    }

    /// A real invoice with an embedded PDF: same report with and without the shortcut's input.
    func testVerdictOfARealInvoiceWithAttachment() throws {
        let url = OracleAgreementTests.base.appendingPathComponent("testsuite/business-cases/standard/01.15a-INVOICE_ubl.xml")
        let data = try Data(contentsOf: url)
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
