import CZlib
import Foundation

/// ZUGFeRD / Factur-X: a PDF/A-3 with the CII invoice as an embedded file. Finds embedded-file
/// streams without a full PDF parser (their dictionaries are never inside object streams),
/// inflates FlateDecode data with a size cap (no zip bombs), and returns the invoice XML.
public enum PDFInvoice {
    public struct Extracted: Sendable {
        public let xml: Data
        public let name: String?
    }

    /// Names the standards use for the embedded invoice, preferred in this order.
    static let preferredNames = ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "ZUGFeRD-invoice.xml"]

    public static func extract(_ pdf: Data, maxBytes: Int) -> Extracted? {
        let bytes = [UInt8](pdf)
        var found: [Extracted] = []
        var from = 0
        let marker = Array("/EmbeddedFile".utf8)
        while let hit = find(marker, in: bytes, from: from) {
            from = hit + marker.count
            // "/EmbeddedFiles" is the name tree, not a stream
            if from < bytes.count, bytes[from] == UInt8(ascii: "s") { continue }
            // The stream dictionary starts at the nearest "<<" before and the data follows "stream".
            guard let dictStart = rfind(Array("<<".utf8), in: bytes, before: hit),
                  let streamKW = find(Array("stream".utf8), in: bytes, from: hit) else { continue }
            let dict = String(decoding: bytes[dictStart..<streamKW], as: UTF8.self)
            guard dict.contains("/Type") || dict.contains("/Subtype") || dict.contains("/Filter") else { continue }
            var dataStart = streamKW + 6
            if dataStart < bytes.count, bytes[dataStart] == 0x0D { dataStart += 1 }
            if dataStart < bytes.count, bytes[dataStart] == 0x0A { dataStart += 1 }
            guard let end = find(Array("endstream".utf8), in: bytes, from: dataStart) else { continue }
            var raw = Array(bytes[dataStart..<end])
            while let last = raw.last, last == 0x0A || last == 0x0D { raw.removeLast() }
            let content: [UInt8]?
            if dict.contains("/FlateDecode") {
                content = inflate(raw, limit: maxBytes)
            } else if dict.contains("/Filter") {
                content = nil // other filters are not used for ZUGFeRD
            } else {
                content = raw
            }
            guard let xml = content, looksLikeXML(xml) else { continue }
            found.append(Extracted(xml: Data(xml), name: fileName(in: bytes)))
        }
        if let preferred = found.first(where: { f in preferredNames.contains { $0.caseInsensitiveCompare(f.name ?? "") == .orderedSame } }) {
            return preferred
        }
        return found.first { String(decoding: $0.xml.prefix(4096), as: UTF8.self).contains("CrossIndustryInvoice") } ?? found.first
    }

    static func looksLikeXML(_ b: [UInt8]) -> Bool {
        var i = 0
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        return i < b.count && b[i] == UInt8(ascii: "<")
    }

    /// The file name of the embedded file: the standards' names are searched in the whole PDF
    /// (the file specification is often in an object stream, so this is best effort).
    static func fileName(in bytes: [UInt8]) -> String? {
        for n in preferredNames where find(Array(n.utf8), in: bytes, from: 0) != nil { return n }
        return nil
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        var i = from
        let first = needle[0]
        while i <= hay.count - needle.count {
            if hay[i] == first {
                var j = 1
                while j < needle.count, hay[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    static func rfind(_ needle: [UInt8], in hay: [UInt8], before: Int) -> Int? {
        var i = min(before, hay.count - needle.count)
        let stop = max(0, before - 4096)
        while i >= stop {
            if hay[i] == needle[0], Array(hay[i..<(i + needle.count)]) == needle { return i }
            i -= 1
        }
        return nil
    }

    /// zlib inflate with an output cap; nil on corrupt data or when the cap is exceeded.
    public static func inflate(_ input: [UInt8], limit: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { inBuf -> Int32 in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            while true {
                let rc: Int32 = chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                out.append(contentsOf: chunk[0..<produced])
                if out.count > limit { return Z_BUF_ERROR }
                if rc == Z_STREAM_END { return Z_STREAM_END }
                if rc != Z_OK { return rc }
                if stream.avail_in == 0 && produced == 0 { return Z_DATA_ERROR }
            }
        }
        return status == Z_STREAM_END ? out : nil
    }

    /// zlib deflate (used to build test PDFs and by anyone producing Factur-X).
    public static func deflate(_ input: [UInt8]) -> [UInt8] {
        var destLen = compressBound(uLong(input.count))
        var dest = [UInt8](repeating: 0, count: Int(destLen))
        let rc = compress(&dest, &destLen, input, uLong(input.count))
        guard rc == Z_OK else { return [] }
        return Array(dest[0..<Int(destLen)])
    }
}
