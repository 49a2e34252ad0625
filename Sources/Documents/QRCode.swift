/// QR code (ISO/IEC 18004) in byte mode with error correction level M, versions 1–10 (up to 213
/// bytes, enough for a verification link). Written for certificates; decoded in the tests by an
/// independent reader (zxing-cpp).
public struct QRCode: Sendable {
    public let size: Int
    /// Row-major, `true` = dark.
    public let modules: [Bool]

    public func isDark(x: Int, y: Int) -> Bool { modules[y * size + x] }

    public enum QRError: Error, CustomStringConvertible {
        case tooLong(Int)
        public var description: String {
            switch self { case .tooLong(let n): "Der Inhalt des QR-Codes ist zu lang (\(n) Bytes, höchstens 213)." }
        }
    }

    // Level M, by version (index 0 unused).
    static let eccPerBlock = [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26]
    static let blocks = [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5]

    static func rawModules(_ v: Int) -> Int {
        var r = (16 * v + 128) * v + 64
        if v >= 2 {
            let n = v / 7 + 2
            r -= (25 * n - 10) * n - 55
            if v >= 7 { r -= 36 }
        }
        return r
    }

    static func dataCapacity(_ v: Int) -> Int { rawModules(v) / 8 - eccPerBlock[v] * blocks[v] }

    public init(text: String) throws { try self.init(bytes: Array(text.utf8)) }

    public init(bytes: [UInt8]) throws {
        var version = 0
        for v in 1...10 {
            let header = 4 + (v < 10 ? 8 : 16)
            if header + bytes.count * 8 <= Self.dataCapacity(v) * 8 { version = v; break }
        }
        guard version > 0 else { throw QRError.tooLong(bytes.count) }
        // bit stream: byte mode, count, data, terminator, padding
        var bits: [Bool] = []
        func put(_ value: Int, _ n: Int) { for i in stride(from: n - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) } }
        put(0b0100, 4)
        put(bytes.count, version < 10 ? 8 : 16)
        for b in bytes { put(Int(b), 8) }
        let capacityBits = Self.dataCapacity(version) * 8
        put(0, min(4, capacityBits - bits.count))
        while bits.count % 8 != 0 { bits.append(false) }
        var data: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { i in
            (0..<8).reduce(UInt8(0)) { $0 << 1 | (bits[i + $1] ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while data.count < Self.dataCapacity(version) { data.append(pad); pad = pad == 0xEC ? 0x11 : 0xEC }
        let codewords = Self.interleave(data, version: version)

        let size = version * 4 + 17
        var m = [Bool](repeating: false, count: size * size)
        var function = [Bool](repeating: false, count: size * size)
        func set(_ x: Int, _ y: Int, _ dark: Bool) { m[y * size + x] = dark; function[y * size + x] = true }
        // timing patterns
        for i in 0..<size { set(6, i, i % 2 == 0); set(i, 6, i % 2 == 0) }
        // finder patterns with separators
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 { for dx in -4...4 {
                let x = cx + dx, y = cy + dy
                guard x >= 0, x < size, y >= 0, y < size else { continue }
                let d = max(abs(dx), abs(dy))
                set(x, y, d != 2 && d != 4)
            } }
        }
        // alignment patterns
        let positions = Self.alignmentPositions(version)
        for (i, ay) in positions.enumerated() { for (j, ax) in positions.enumerated() {
            let last = positions.count - 1
            if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
            for dy in -2...2 { for dx in -2...2 { set(ax + dx, ay + dy, max(abs(dx), abs(dy)) != 1) } }
        } }
        // format areas reserved (written after masking), dark module, version information
        Self.drawFormat(mask: 0, size: size, set: set)
        if version >= 7 {
            var rem = version
            for _ in 0..<12 { rem = (rem << 1) ^ ((rem >> 11) * 0x1F25) }
            let v = version << 12 | rem
            for i in 0..<18 {
                let bit = (v >> i) & 1 == 1
                let a = size - 11 + i % 3, b = i / 3
                set(a, b, bit); set(b, a, bit)
            }
        }
        // data in the zigzag
        var bitIndex = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vert in 0..<size {
                for j in 0..<2 {
                    let x = right - j
                    let upward = (right + 1) & 2 == 0
                    let y = upward ? size - 1 - vert : vert
                    if !function[y * size + x] && bitIndex < codewords.count * 8 {
                        m[y * size + x] = (codewords[bitIndex >> 3] >> (7 - (bitIndex & 7))) & 1 == 1
                        bitIndex += 1
                    }
                }
            }
            right -= 2
        }
        // the mask with the lowest penalty
        var best = m, bestPenalty = Int.max
        for mask in 0..<8 {
            var candidate = m
            for y in 0..<size { for x in 0..<size where !function[y * size + x] && Self.maskBit(mask, x, y) {
                candidate[y * size + x].toggle()
            } }
            Self.drawFormat(mask: mask, size: size) { x, y, d in candidate[y * size + x] = d }
            let p = Self.penalty(candidate, size)
            if p < bestPenalty { bestPenalty = p; best = candidate }
        }
        self.size = size
        self.modules = best
    }

    static func alignmentPositions(_ v: Int) -> [Int] {
        guard v > 1 else { return [] }
        let n = v / 7 + 2
        let size = v * 4 + 17
        let step = (v * 8 + n * 3 + 5) / (n * 4 - 4) * 2
        var out: [Int] = []
        var pos = size - 7
        for _ in 0..<(n - 1) { out.insert(pos, at: 0); pos -= step }
        out.insert(6, at: 0)
        return out
    }

    static func maskBit(_ mask: Int, _ x: Int, _ y: Int) -> Bool {
        switch mask {
        case 0: (x + y) % 2 == 0
        case 1: y % 2 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: (x / 3 + y / 2) % 2 == 0
        case 5: x * y % 2 + x * y % 3 == 0
        case 6: (x * y % 2 + x * y % 3) % 2 == 0
        default: ((x + y) % 2 + x * y % 3) % 2 == 0
        }
    }

    /// Level M (bits 00) and the mask, BCH-protected, in both copies; plus the dark module.
    static func drawFormat(mask: Int, size: Int, set: (Int, Int, Bool) -> Void) {
        let data = 0 << 3 | mask
        var rem = data
        for _ in 0..<10 { rem = (rem << 1) ^ ((rem >> 9) * 0x537) }
        let bits = (data << 10 | rem) ^ 0x5412
        func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
        for i in 0...5 { set(8, i, bit(i)) }
        set(8, 7, bit(6)); set(8, 8, bit(7)); set(7, 8, bit(8))
        for i in 9..<15 { set(14 - i, 8, bit(i)) }
        for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
        for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
        set(8, size - 8, true)
    }

    static func penalty(_ m: [Bool], _ size: Int) -> Int {
        var p = 0
        func at(_ x: Int, _ y: Int, _ row: Bool) -> Bool { row ? m[y * size + x] : m[x * size + y] }
        for row in [true, false] {
            for a in 0..<size {
                var run = 1
                for b in 1..<size {
                    if at(b, a, row) == at(b - 1, a, row) { run += 1; if run == 5 { p += 3 } else if run > 5 { p += 1 } } else { run = 1 }
                }
                // finder-like 1:1:3:1:1 with four light modules on one side
                let line = (0..<size).map { at($0, a, row) }
                let core: [Bool] = [true, false, true, true, true, false, true]
                for s in 0...(size - 7) where Array(line[s..<s + 7]) == core {
                    let before = (max(0, s - 4)..<s).allSatisfy { !line[$0] } && s >= 0
                    let after = (s + 7..<min(size, s + 11)).allSatisfy { !line[$0] }
                    if before || after { p += 40 }
                }
            }
        }
        for y in 0..<(size - 1) { for x in 0..<(size - 1) {
            let c = m[y * size + x]
            if c == m[y * size + x + 1] && c == m[(y + 1) * size + x] && c == m[(y + 1) * size + x + 1] { p += 3 }
        } }
        let dark = m.filter { $0 }.count, total = size * size
        p += ((abs(dark * 20 - total * 10) + total - 1) / total - 1) * 10
        return p
    }

    /// Splits the data into blocks, adds Reed-Solomon codewords and interleaves them.
    static func interleave(_ data: [UInt8], version: Int) -> [UInt8] {
        let numBlocks = blocks[version], ecc = eccPerBlock[version]
        let raw = rawModules(version) / 8
        let shortBlocks = numBlocks - raw % numBlocks
        let shortLen = raw / numBlocks
        let divisor = ReedSolomon.generator(degree: ecc)
        var result: [[UInt8]] = []
        var k = 0
        for i in 0..<numBlocks {
            let len = shortLen - ecc + (i < shortBlocks ? 0 : 1)
            let part = Array(data[k..<k + len])
            k += len
            var block = part + ReedSolomon.remainder(part, divisor)
            if i < shortBlocks { block.insert(0, at: shortLen - ecc) }
            result.append(block)
        }
        var out: [UInt8] = []
        for i in 0..<result[0].count {
            for (j, block) in result.enumerated() where !(i == shortLen - ecc && j < shortBlocks) {
                out.append(block[i])
            }
        }
        return out
    }
}

enum ReedSolomon {
    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var z = 0
        for i in stride(from: 7, through: 0, by: -1) {
            z = (z << 1) ^ ((z >> 7) * 0x11D)
            z ^= ((Int(y) >> i) & 1) * Int(x)
        }
        return UInt8(z & 0xFF)
    }

    static func generator(degree: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: degree)
        result[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for j in 0..<degree {
                result[j] = multiply(result[j], root)
                if j + 1 < degree { result[j] ^= result[j + 1] }
            }
            root = multiply(root, 0x02)
        }
        return result
    }

    static func remainder(_ data: [UInt8], _ divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for b in data {
            let factor = b ^ result.removeFirst()
            result.append(0)
            for i in 0..<divisor.count { result[i] ^= multiply(divisor[i], factor) }
        }
        return result
    }
}
