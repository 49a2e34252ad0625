import CZlib
import Foundation

/// ZUGFeRD / Factur-X: a PDF/A-3 with the CII invoice as an embedded file. Finds embedded-file
/// streams without a full PDF parser (their dictionaries are never inside object streams) and
/// returns the invoice XML.
///
/// Hostile PDFs are bounded per request in total, not per stream (issue 13: 300 small streams that
/// each inflated to just under the cap took 6 GB): the stream the file specification names
/// `factur-x.xml` (or another standard name) is looked up first and only that one is inflated; when
/// no file specification can be followed, candidates are inflated one after another from one shared
/// byte budget, each first only 4 KB to see whether it is an invoice at all; at most
/// `maxCandidates` embedded-file markers are examined, and inflation streams into a buffer that
/// never grows past the budget.
public enum PDFInvoice {
    public struct Extracted: Sendable {
        public let xml: Data
        public let name: String?
    }

    /// Why an extraction was stopped; each reason has a German and an English text for the supplier.
    public enum LimitKind: Error, Equatable, Sendable {
        case inflatedBytes(limit: Int)
        case tooManyObjects(limit: Int)

        public var messageDE: String {
            switch self {
            case .inflatedBytes(let l):
                return "Die eingebetteten Dateien des PDF ergeben entpackt mehr als \(l / 1024 / 1024) MB. Das PDF wird nicht verarbeitet; bitte senden Sie die XRechnung als XML-Datei oder ein ZUGFeRD-PDF mit nur der Rechnungsdatei."
            case .tooManyObjects(let l):
                return "Das PDF enthält mehr als \(l) eingebettete Dateien oder Objekte. Es wird nicht verarbeitet; bitte senden Sie die XRechnung als XML-Datei."
            }
        }

        public var messageEN: String {
            switch self {
            case .inflatedBytes(let l):
                return "The embedded files of the PDF inflate to more than \(l / 1024 / 1024) MB. The PDF is not processed; send the XRechnung XML or a ZUGFeRD PDF with only the invoice file."
            case .tooManyObjects(let l):
                return "The PDF contains more than \(l) embedded files or objects. It is not processed; send the XRechnung XML."
            }
        }
    }

    public enum Outcome: Sendable {
        case found(Extracted)
        case notFound
        case limit(LimitKind)
    }

    /// Names the standards use for the embedded invoice, preferred in this order.
    static let preferredNames = ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "ZUGFeRD-invoice.xml"]
    /// Embedded-file markers examined per PDF; a Factur-X PDF has one, a few attachments are normal.
    public static let maxCandidates = 64
    /// Bytes inflated to decide whether a candidate is XML at all.
    static let probeBytes = 4096

    /// The embedded invoice, or nil (no invoice found or a limit was hit); see `extractReporting`.
    public static func extract(_ pdf: Data, maxBytes: Int) -> Extracted? {
        if case .found(let e) = extractReporting(pdf, maxBytes: maxBytes) { return e }
        return nil
    }

    struct Candidate {
        let dictStart: Int
        let dataStart: Int
        let dataEnd: Int
        let flate: Bool
    }

    /// `maxBytes` is the budget for all inflated bytes of this PDF together.
    public static func extractReporting(_ pdf: Data, maxBytes: Int) -> Outcome {
        let bytes = [UInt8](pdf)
        let candidates: [Candidate]
        switch scan(bytes) {
        case .success(let c): candidates = c
        case .failure(let kind): return .limit(kind)
        }
        if candidates.isEmpty { return .notFound }
        var budget = Budget(remaining: maxBytes, limit: maxBytes)

        // 1. The stream the file specification of a standard name points to (`/EF << /F n 0 R >>`).
        if let (name, objectNumber) = namedEmbeddedFile(in: bytes),
           let objectStart = findObject(objectNumber, in: bytes),
           let c = candidates.first(where: { $0.dictStart >= objectStart && $0.dictStart - objectStart < 256 }) {
            switch content(of: c, in: bytes, budget: &budget, full: true) {
            case .some(.success(let xml)) where looksLikeXML(xml):
                return .found(Extracted(xml: Data(xml), name: name))
            case .some(.failure(let k)): return .limit(k)
            default: break
            }
        }

        // 2. Otherwise the first candidate whose first bytes are an invoice, from the shared budget.
        let fallbackName = fileName(in: bytes)
        var firstXML: Candidate?
        for c in candidates {
            switch content(of: c, in: bytes, budget: &budget, full: false) {
            case .some(.success(let head)) where looksLikeXML(head):
                let text = String(decoding: head, as: UTF8.self)
                if text.contains("CrossIndustryInvoice") || text.contains(":Invoice") || text.contains("<Invoice") || text.contains("CreditNote") {
                    switch content(of: c, in: bytes, budget: &budget, full: true) {
                    case .some(.success(let xml)): return .found(Extracted(xml: Data(xml), name: fallbackName))
                    case .some(.failure(let k)): return .limit(k)
                    case .none: continue
                    }
                }
                if firstXML == nil { firstXML = c }
            case .some(.failure(let k)): return .limit(k)
            default: continue
            }
        }
        if let c = firstXML {
            switch content(of: c, in: bytes, budget: &budget, full: true) {
            case .some(.success(let xml)): return .found(Extracted(xml: Data(xml), name: fallbackName))
            case .some(.failure(let k)): return .limit(k)
            case .none: break
            }
        }
        return .notFound
    }

    struct Budget {
        var remaining: Int
        let limit: Int
    }

    /// Stream data of a candidate: raw, or inflated within the budget (`full: false` inflates only
    /// the first `probeBytes`). nil: not usable (other filter, corrupt data).
    static func content(of c: Candidate, in bytes: [UInt8], budget: inout Budget, full: Bool) -> Result<[UInt8], LimitKind>? {
        var end = c.dataEnd
        while end > c.dataStart, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        if !c.flate {
            let n = full ? end - c.dataStart : min(end - c.dataStart, probeBytes)
            return .success(Array(bytes[c.dataStart..<(c.dataStart + n)]))
        }
        let cap = full ? budget.remaining : min(probeBytes, budget.remaining)
        let result = bytes.withUnsafeBufferPointer { buf in
            inflate(UnsafeBufferPointer(rebasing: buf[c.dataStart..<end]), limit: cap, stopAtLimit: !full)
        }
        switch result {
        case .success(let out):
            budget.remaining -= out.count
            return .success(out)
        case .tooLarge:
            return .failure(.inflatedBytes(limit: budget.limit))
        case .corrupt:
            return nil
        }
    }

    /// Every embedded-file stream (dictionary offset and data range), at most `maxCandidates`.
    static func scan(_ bytes: [UInt8]) -> Result<[Candidate], LimitKind> {
        var out: [Candidate] = []
        var from = 0
        var examined = 0
        let marker = Array("/EmbeddedFile".utf8)
        while let hit = find(marker, in: bytes, from: from) {
            from = hit + marker.count
            // "/EmbeddedFiles" is the name tree, not a stream
            if from < bytes.count, bytes[from] == UInt8(ascii: "s") { continue }
            examined += 1
            if examined > maxCandidates { return .failure(.tooManyObjects(limit: maxCandidates)) }
            // The stream dictionary starts at the nearest "<<" before and the data follows "stream".
            guard let dictStart = rfind(Array("<<".utf8), in: bytes, before: hit),
                  let streamKW = find(Array("stream".utf8), in: bytes, from: hit) else { continue }
            // The dictionary of one stream is short; a "stream" keyword far away belongs to another object.
            guard streamKW - hit < 4096 else { continue }
            let dict = String(decoding: bytes[dictStart..<streamKW], as: UTF8.self)
            guard dict.contains("/Type") || dict.contains("/Subtype") || dict.contains("/Filter") else { continue }
            var dataStart = streamKW + 6
            if dataStart < bytes.count, bytes[dataStart] == 0x0D { dataStart += 1 }
            if dataStart < bytes.count, bytes[dataStart] == 0x0A { dataStart += 1 }
            guard let end = find(Array("endstream".utf8), in: bytes, from: dataStart) else { continue }
            from = max(from, end)
            let flate = dict.contains("/FlateDecode")
            // Other filters are not used for ZUGFeRD.
            if !flate, dict.contains("/Filter") { continue }
            out.append(Candidate(dictStart: dictStart, dataStart: dataStart, dataEnd: end, flate: flate))
        }
        return .success(out)
    }

    /// The file specification of a standard invoice name and the object number of its embedded
    /// file (`/EF << /F 12 0 R >>`), when the file specification is not inside an object stream.
    static func namedEmbeddedFile(in bytes: [UInt8]) -> (String, Int)? {
        for name in preferredNames {
            var from = 0
            var tries = 0
            let needle = Array("(\(name))".utf8)
            while let hit = find(needle, in: bytes, from: from), tries < 8 {
                tries += 1
                from = hit + needle.count
                let lo = max(0, hit - 1024), hi = min(bytes.count, hit + 1024)
                guard let ef = find(Array("/EF".utf8), in: Array(bytes[lo..<hi]), from: 0) else { continue }
                // "/EF << /F 12 0 R >>" or "/UF 12 0 R", read on bytes (Foundation's Scanner
                // crashed on a multi-byte character after the digits: found by fuzzing)
                if let n = objectReference(in: bytes, from: lo + ef + 3, end: min(hi, lo + ef + 200)) { return (name, n) }
            }
        }
        return nil
    }

    /// Parses `[<<] /F|/UF <number> <generation> R` at `from`; the object number, or nil.
    static func objectReference(in bytes: [UInt8], from: Int, end: Int) -> Int? {
        var i = from
        func skipSpace() { while i < end, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 } }
        func literal(_ s: String) -> Bool {
            let u = Array(s.utf8)
            guard i + u.count <= end, Array(bytes[i..<(i + u.count)]) == u else { return false }
            i += u.count
            return true
        }
        func number() -> Int? {
            var v = 0, digits = 0
            while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39, digits < 9 { v = v * 10 + Int(bytes[i] - 0x30); i += 1; digits += 1 }
            return digits > 0 ? v : nil
        }
        skipSpace()
        _ = literal("<<")
        skipSpace()
        guard literal("/UF") || literal("/F") else { return nil }
        skipSpace()
        guard let n = number(), n > 0 else { return nil }
        skipSpace()
        guard number() != nil else { return nil }
        skipSpace()
        return literal("R") ? n : nil
        return nil
    }

    /// Offset of "n 0 obj" (or "n g obj") at the start of a line.
    static func findObject(_ number: Int, in bytes: [UInt8]) -> Int? {
        let needle = Array("\(number) 0 obj".utf8)
        var from = 0
        while let hit = find(needle, in: bytes, from: from) {
            if hit == 0 || bytes[hit - 1] == 0x0A || bytes[hit - 1] == 0x0D || bytes[hit - 1] == 0x20 { return hit }
            from = hit + 1
        }
        return nil
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
        return hay.withUnsafeBufferPointer { h -> Int? in
            guard let base = h.baseAddress else { return nil }
            var i = from
            let first = needle[0]
            let last = hay.count - needle.count
            while i <= last {
                // memchr jumps to the next candidate byte
                guard let p = memchr(base + i, Int32(first), last - i + 1) else { return nil }
                i = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                var j = 1
                while j < needle.count, h[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
                i += 1
            }
            return nil
        }
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

    enum InflateResult {
        case success([UInt8])
        case tooLarge
        case corrupt
    }

    /// zlib inflate with an output cap; nil on corrupt data or when the cap is exceeded.
    public static func inflate(_ input: [UInt8], limit: Int) -> [UInt8]? {
        let r = input.withUnsafeBufferPointer { inflate($0, limit: limit, stopAtLimit: false) }
        if case .success(let out) = r { return out }
        return nil
    }

    /// Streaming inflate into a buffer that never exceeds `limit` bytes. `stopAtLimit`: return the
    /// first `limit` bytes as success (a probe); otherwise exceeding the limit is `.tooLarge`.
    static func inflate(_ input: UnsafeBufferPointer<UInt8>, limit: Int, stopAtLimit: Bool) -> InflateResult {
        guard let base = input.baseAddress, limit > 0 else { return limit > 0 ? .corrupt : .tooLarge }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return .corrupt }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        out.reserveCapacity(min(limit, max(64 * 1024, input.count * 4)))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = uInt(input.count)
        while true {
            let rc: Int32 = chunk.withUnsafeMutableBufferPointer { outBuf in
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                return CZlib.inflate(&stream, Z_NO_FLUSH)
            }
            let produced = chunk.count - Int(stream.avail_out)
            if out.count + produced > limit {
                if stopAtLimit {
                    out.append(contentsOf: chunk[0..<(limit - out.count)])
                    return .success(out)
                }
                return .tooLarge
            }
            out.append(contentsOf: chunk[0..<produced])
            if rc == Z_STREAM_END { return .success(out) }
            if rc != Z_OK { return stopAtLimit && !out.isEmpty ? .success(out) : .corrupt }
            if stream.avail_in == 0 && produced == 0 { return stopAtLimit && !out.isEmpty ? .success(out) : .corrupt }
        }
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
