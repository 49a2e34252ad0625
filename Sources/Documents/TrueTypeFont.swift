import Foundation

/// A TrueType font read once: character map, advance widths, metrics and glyph outlines, enough
/// to lay out text and to embed a subset with only the glyphs a document uses.
public final class TrueTypeFont: Sendable {
    public let postScriptName: String
    let data: [UInt8]
    let tables: [String: (offset: Int, length: Int)]
    public let unitsPerEm: Int
    let numGlyphs: Int
    let longLoca: Bool
    let advances: [UInt16]
    let leftBearings: [Int16]
    let cmap: [UInt32: UInt16]
    public let ascender: Int
    public let descender: Int
    public let capHeight: Int
    let bbox: (Int, Int, Int, Int)

    public enum FontError: Error, CustomStringConvertible {
        case malformed(String)
        public var description: String {
            switch self { case .malformed(let what): "Schriftdatei fehlerhaft: \(what)" }
        }
    }

    /// `characterMap: false` reads a subset (which maps glyph ids, not characters).
    public init(data bytes: Data, postScriptName: String, characterMap: Bool = true) throws {
        let d = [UInt8](bytes)
        self.data = d
        self.postScriptName = postScriptName
        func u16(_ o: Int) throws -> Int {
            guard o + 2 <= d.count else { throw FontError.malformed("Offset \(o)") }
            return Int(d[o]) << 8 | Int(d[o + 1])
        }
        func u32(_ o: Int) throws -> Int {
            guard o + 4 <= d.count else { throw FontError.malformed("Offset \(o)") }
            return Int(d[o]) << 24 | Int(d[o + 1]) << 16 | Int(d[o + 2]) << 8 | Int(d[o + 3])
        }
        func i16(_ o: Int) throws -> Int { Int(Int16(bitPattern: UInt16(try u16(o)))) }
        let count = try u16(4)
        var tables: [String: (Int, Int)] = [:]
        for i in 0..<count {
            let rec = 12 + i * 16
            let tag = String(decoding: d[rec..<rec + 4], as: UTF8.self)
            let offset = try u32(rec + 8), length = try u32(rec + 12)
            guard offset + length <= d.count else { throw FontError.malformed("Tabelle \(tag)") }
            tables[tag] = (offset, length)
        }
        for t in ["head", "hhea", "maxp", "hmtx", "loca", "glyf"] + (characterMap ? ["cmap"] : []) where tables[t] == nil {
            throw FontError.malformed("Tabelle \(t) fehlt")
        }
        self.tables = tables.mapValues { (offset: $0.0, length: $0.1) }
        let head = tables["head"]!.0, hhea = tables["hhea"]!.0
        unitsPerEm = try u16(head + 18)
        bbox = (try i16(head + 36), try i16(head + 38), try i16(head + 40), try i16(head + 42))
        longLoca = try i16(head + 50) == 1
        numGlyphs = try u16(tables["maxp"]!.0 + 4)
        ascender = try i16(hhea + 4)
        descender = try i16(hhea + 6)
        let hMetrics = try u16(hhea + 34)
        var adv: [UInt16] = [], lsb: [Int16] = []
        adv.reserveCapacity(numGlyphs); lsb.reserveCapacity(numGlyphs)
        let hmtx = tables["hmtx"]!.0
        for g in 0..<numGlyphs {
            if g < hMetrics {
                adv.append(UInt16(try u16(hmtx + g * 4)))
                lsb.append(Int16(try i16(hmtx + g * 4 + 2)))
            } else {
                adv.append(adv.last ?? 0)
                lsb.append(Int16(try i16(hmtx + hMetrics * 4 + (g - hMetrics) * 2)))
            }
        }
        advances = adv; leftBearings = lsb
        if let os2 = tables["OS/2"], try u16(os2.0) >= 2, os2.1 >= 90 {
            capHeight = try i16(os2.0 + 88)
        } else {
            capHeight = ascender * 7 / 10
        }
        // character map: Windows Unicode, full repertoire (format 12) or BMP (format 4)
        guard let cmapAt = tables["cmap"]?.0 else {
            cmap = [:]
            return
        }
        var format12: Int? = nil, format4: Int? = nil
        for i in 0..<(try u16(cmapAt + 2)) {
            let platform = try u16(cmapAt + 4 + i * 8), encoding = try u16(cmapAt + 6 + i * 8)
            let sub = cmapAt + (try u32(cmapAt + 8 + i * 8))
            let format = try u16(sub)
            if platform == 3 && encoding == 10 && format == 12 { format12 = sub }
            if platform == 3 && encoding == 1 && format == 4 { format4 = sub }
        }
        var map: [UInt32: UInt16] = [:]
        if let sub = format12 {
            for g in 0..<(try u32(sub + 12)) {
                let rec = sub + 16 + g * 12
                let start = try u32(rec), end = try u32(rec + 4), glyph = try u32(rec + 8)
                guard end >= start, end - start < 0x110000 else { continue }
                for c in start...end { map[UInt32(c)] = UInt16(truncatingIfNeeded: glyph + (c - start)) }
            }
        } else if let sub = format4 {
            let segX2 = try u16(sub + 6)
            let ends = sub + 14, starts = ends + segX2 + 2, deltas = starts + segX2, ranges = deltas + segX2
            for s in 0..<(segX2 / 2) {
                let end = try u16(ends + s * 2), start = try u16(starts + s * 2)
                let delta = try u16(deltas + s * 2), rangeOffset = try u16(ranges + s * 2)
                guard start <= end, start != 0xFFFF else { continue }
                for c in start...end {
                    var glyph: Int
                    if rangeOffset == 0 {
                        glyph = (c + delta) & 0xFFFF
                    } else {
                        let at = ranges + s * 2 + rangeOffset + (c - start) * 2
                        glyph = try u16(at)
                        if glyph != 0 { glyph = (glyph + delta) & 0xFFFF }
                    }
                    if glyph != 0 { map[UInt32(c)] = UInt16(glyph) }
                }
            }
        } else {
            throw FontError.malformed("keine Unicode-Zeichentabelle")
        }
        cmap = map
    }

    /// The glyph of a character (0 = .notdef when the font has none).
    public func glyph(_ scalar: Unicode.Scalar) -> UInt16 { cmap[scalar.value] ?? 0 }

    /// Advance width in 1/1000 em, the unit of PDF widths.
    public func advance(_ glyph: UInt16) -> Double {
        Double(advances[Int(glyph) < advances.count ? Int(glyph) : 0]) * 1000 / Double(unitsPerEm)
    }

    /// Width of a text at a font size, in points.
    public func width(_ text: String, size: Double) -> Double {
        var w = 0.0
        for s in text.unicodeScalars { w += advance(glyph(s)) }
        return w * size / 1000
    }

    private func u16(_ o: Int) -> Int { Int(data[o]) << 8 | Int(data[o + 1]) }

    func glyphRange(_ g: Int) -> Range<Int> {
        let loca = tables["loca"]!.offset, glyf = tables["glyf"]!.offset
        let a: Int, b: Int
        if longLoca {
            a = (u16(loca + g * 4) << 16) | u16(loca + g * 4 + 2)
            b = (u16(loca + g * 4 + 4) << 16) | u16(loca + g * 4 + 6)
        } else {
            a = u16(loca + g * 2) * 2
            b = u16(loca + g * 2 + 2) * 2
        }
        return (glyf + a)..<(glyf + max(a, b))
    }

    /// Glyphs a composite glyph is built from.
    func components(_ g: Int) -> [Int] {
        let r = glyphRange(g)
        guard r.count >= 10, Int16(bitPattern: UInt16(u16(r.lowerBound))) < 0 else { return [] }
        var out: [Int] = []
        var p = r.lowerBound + 10
        while p + 4 <= r.upperBound {
            let flags = u16(p)
            out.append(u16(p + 2))
            p += 4 + (flags & 0x1 != 0 ? 4 : 2)
            if flags & 0x8 != 0 { p += 2 } else if flags & 0x40 != 0 { p += 4 } else if flags & 0x80 != 0 { p += 8 }
            if flags & 0x20 == 0 { break }
        }
        return out
    }

    /// A font program with only `glyphs` (old ids), renumbered densely in the given order with
    /// .notdef first; composite glyphs point at their renumbered parts. Returns the program and
    /// the old→new map. Hinting tables are left out: the documents are read on screens and printed.
    public func subset(_ used: [UInt16]) -> (program: Data, newID: [UInt16: UInt16]) {
        var order: [Int] = [0]
        var seen: Set<Int> = [0]
        var queue = used.map(Int.init)
        while let g = queue.first {
            queue.removeFirst()
            guard g < numGlyphs, !seen.contains(g) else { continue }
            seen.insert(g); order.append(g)
            queue.append(contentsOf: components(g))
        }
        var newID: [UInt16: UInt16] = [:]
        for (i, g) in order.enumerated() { newID[UInt16(g)] = UInt16(i) }
        var glyf: [UInt8] = [], loca: [UInt32] = []
        for g in order {
            loca.append(UInt32(glyf.count))
            var bytes = Array(data[glyphRange(g)])
            if bytes.count >= 10, Int16(bitPattern: UInt16(Int(bytes[0]) << 8 | Int(bytes[1]))) < 0 {
                var p = 10
                while p + 4 <= bytes.count {
                    let flags = Int(bytes[p]) << 8 | Int(bytes[p + 1])
                    let old = UInt16(Int(bytes[p + 2]) << 8 | Int(bytes[p + 3]))
                    let n = newID[old] ?? 0
                    bytes[p + 2] = UInt8(n >> 8); bytes[p + 3] = UInt8(n & 0xFF)
                    p += 4 + (flags & 0x1 != 0 ? 4 : 2)
                    if flags & 0x8 != 0 { p += 2 } else if flags & 0x40 != 0 { p += 4 } else if flags & 0x80 != 0 { p += 8 }
                    if flags & 0x20 == 0 { break }
                }
            }
            glyf.append(contentsOf: bytes)
            while glyf.count % 4 != 0 { glyf.append(0) }
        }
        loca.append(UInt32(glyf.count))
        var w = ByteWriter()
        // head: copied, long loca, checksum adjustment fixed below
        var head = Array(data[tables["head"]!.offset..<tables["head"]!.offset + tables["head"]!.length])
        head[8] = 0; head[9] = 0; head[10] = 0; head[11] = 0
        head[50] = 0; head[51] = 1
        var hhea = Array(data[tables["hhea"]!.offset..<tables["hhea"]!.offset + tables["hhea"]!.length])
        hhea[34] = UInt8(order.count >> 8); hhea[35] = UInt8(order.count & 0xFF)
        var maxp = Array(data[tables["maxp"]!.offset..<tables["maxp"]!.offset + tables["maxp"]!.length])
        maxp[4] = UInt8(order.count >> 8); maxp[5] = UInt8(order.count & 0xFF)
        var hmtx = ByteWriter()
        for g in order { hmtx.u16(Int(advances[g])); hmtx.u16(Int(UInt16(bitPattern: leftBearings[g]))) }
        var locaW = ByteWriter()
        for o in loca { locaW.u32(Int(o)) }
        // post format 3: no glyph names
        var post: [UInt8] = []
        if let p = tables["post"], p.length >= 32 {
            post = Array(data[p.offset..<p.offset + 32])
            post[0] = 0; post[1] = 3; post[2] = 0; post[3] = 0
        }
        var out: [(String, [UInt8])] = [("glyf", glyf), ("head", head), ("hhea", hhea), ("hmtx", hmtx.bytes), ("loca", locaW.bytes), ("maxp", maxp)]
        if !post.isEmpty { out.append(("post", post)) }
        out.sort { $0.0 < $1.0 }
        let n = out.count
        var entrySelector = 0
        while (1 << (entrySelector + 1)) <= n { entrySelector += 1 }
        let searchRange = (1 << entrySelector) * 16
        w.u32(0x0001_0000); w.u16(n); w.u16(searchRange); w.u16(entrySelector); w.u16(n * 16 - searchRange)
        var offset = 12 + n * 16
        var headAt = 0
        for (tag, bytes) in out {
            w.bytes.append(contentsOf: Array(tag.utf8))
            w.u32(Int(Self.checksum(bytes)))
            if tag == "head" { headAt = offset }
            w.u32(offset); w.u32(bytes.count)
            offset += (bytes.count + 3) & ~3
        }
        for (_, bytes) in out {
            w.bytes.append(contentsOf: bytes)
            while w.bytes.count % 4 != 0 { w.bytes.append(0) }
        }
        let adjust = (0xB1B0_AFBA &- Self.checksum(w.bytes)) & 0xFFFF_FFFF
        w.bytes[headAt + 8] = UInt8(adjust >> 24 & 0xFF); w.bytes[headAt + 9] = UInt8(adjust >> 16 & 0xFF)
        w.bytes[headAt + 10] = UInt8(adjust >> 8 & 0xFF); w.bytes[headAt + 11] = UInt8(adjust & 0xFF)
        return (Data(w.bytes), newID)
    }

    static func checksum(_ b: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        var i = 0
        while i < b.count {
            var word: UInt32 = 0
            for k in 0..<4 { word = word << 8 | UInt32(i + k < b.count ? b[i + k] : 0) }
            sum = sum &+ word
            i += 4
        }
        return sum
    }

    /// Font bounding box in 1/1000 em.
    var pdfBBox: [Int] {
        [bbox.0, bbox.1, bbox.2, bbox.3].map { $0 * 1000 / unitsPerEm }
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u16(_ v: Int) { bytes.append(UInt8(v >> 8 & 0xFF)); bytes.append(UInt8(v & 0xFF)) }
    mutating func u32(_ v: Int) { u16(v >> 16 & 0xFFFF); u16(v & 0xFFFF) }
}

/// The two faces every document uses, read once per process.
public enum DocumentFonts {
    public static let regular: TrueTypeFont? = load("DejaVuSans", "DejaVuSans")
    public static let bold: TrueTypeFont? = load("DejaVuSans-Bold", "DejaVuSans-Bold")

    static func load(_ file: String, _ name: String) -> TrueTypeFont? {
        guard let url = Bundle.module.url(forResource: file, withExtension: "ttf", subdirectory: "Resources/fonts"),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? TrueTypeFont(data: data, postScriptName: name)
    }
}
