import Foundation

/// A small ICC v2 display profile for sRGB, built from the published sRGB primaries (adapted to
/// D50 as ICC requires) and the sRGB transfer curve sampled into a table. PDF/A needs an output
/// intent with an embedded profile; generating it avoids shipping a profile file of unclear licence.
enum SRGBProfile {
    static let data: Data = build()

    private static func s15f16(_ v: Double) -> Int { Int((v * 65536).rounded()) & 0xFFFF_FFFF }

    private static func build() -> Data {
        var tags: [(String, [UInt8])] = []
        func xyz(_ x: Double, _ y: Double, _ z: Double) -> [UInt8] {
            var w = ByteWriter()
            w.bytes += Array("XYZ ".utf8); w.u32(0)
            w.u32(s15f16(x)); w.u32(s15f16(y)); w.u32(s15f16(z))
            return w.bytes
        }
        var desc = ByteWriter()
        let name = "sRGB IEC61966-2.1"
        desc.bytes += Array("desc".utf8); desc.u32(0)
        desc.u32(name.utf8.count + 1); desc.bytes += Array(name.utf8) + [0]
        desc.u32(0); desc.u32(0)                       // Unicode: none
        desc.u16(0); desc.bytes.append(0); desc.bytes += [UInt8](repeating: 0, count: 67)  // ScriptCode: none
        var cprt = ByteWriter()
        cprt.bytes += Array("text".utf8); cprt.u32(0); cprt.bytes += Array("No copyright, use freely".utf8) + [0]
        var curve = ByteWriter()
        curve.bytes += Array("curv".utf8); curve.u32(0)
        let n = 256
        curve.u32(n)
        for i in 0..<n {
            let c = Double(i) / Double(n - 1)
            let linear = c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
            curve.u16(Int((linear * 65535).rounded()))
        }
        tags = [("desc", desc.bytes), ("cprt", cprt.bytes), ("wtpt", xyz(0.9642, 1.0, 0.8249)),
                ("rXYZ", xyz(0.4361, 0.2225, 0.0139)), ("gXYZ", xyz(0.3851, 0.7169, 0.0971)), ("bXYZ", xyz(0.1431, 0.0606, 0.7141)),
                ("rTRC", curve.bytes), ("gTRC", curve.bytes), ("bTRC", curve.bytes)]
        let tableSize = 4 + tags.count * 12
        var offset = 128 + tableSize
        var table = ByteWriter(), body = ByteWriter()
        table.u32(tags.count)
        var curveAt = 0
        for (sig, bytes) in tags {
            // the three curves share one element
            if sig == "gTRC" || sig == "bTRC" {
                table.bytes += Array(sig.utf8); table.u32(curveAt); table.u32(bytes.count)
                continue
            }
            if sig == "rTRC" { curveAt = offset }
            table.bytes += Array(sig.utf8); table.u32(offset); table.u32(bytes.count)
            body.bytes += bytes
            while body.bytes.count % 4 != 0 { body.bytes.append(0) }
            offset = 128 + tableSize + body.bytes.count
        }
        let total = 128 + tableSize + body.bytes.count
        var header = ByteWriter()
        header.u32(total); header.u32(0)
        header.u32(0x0210_0000)
        header.bytes += Array("mntr".utf8) + Array("RGB ".utf8) + Array("XYZ ".utf8)
        for v in [2026, 1, 1, 0, 0, 0] { header.u16(v) }
        header.bytes += Array("acsp".utf8)
        header.u32(0); header.u32(0); header.u32(0); header.u32(0); header.u32(0); header.u32(0)  // platform … attributes
        header.u32(0)                                                                           // perceptual
        header.u32(s15f16(0.9642)); header.u32(s15f16(1.0)); header.u32(s15f16(0.8249))
        header.u32(0)
        header.bytes += [UInt8](repeating: 0, count: 128 - header.bytes.count)
        return Data(header.bytes + table.bytes + body.bytes)
    }
}
