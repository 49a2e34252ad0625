import CZlib
import Foundation

/// Raw DEFLATE (RFC 1951, no zlib header) as JWE `zip: DEF` uses it, inflated in chunks into a
/// buffer that never exceeds the limit: a small compressed payload cannot take the memory.
enum RawInflate {
    static func inflate(_ input: Data, limit: Int) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw JOSEError.malformed("DEFLATE nicht initialisierbar") }
        defer { inflateEnd(&stream) }
        var out = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        return try input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Data in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { return Data() }
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = uInt(raw.count)
            while true {
                let rc: Int32 = chunk.withUnsafeMutableBufferPointer { buf in
                    stream.next_out = buf.baseAddress
                    stream.avail_out = uInt(buf.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                guard out.count + produced <= limit else { throw JOSEError.tooLarge(limit: limit) }
                out.append(contentsOf: chunk[0..<produced])
                if rc == Z_STREAM_END { return out }
                if rc != Z_OK || (stream.avail_in == 0 && produced == 0) { throw JOSEError.malformed("der komprimierte Inhalt (zip DEF) ist beschädigt") }
            }
        }
    }
}
