import CZlib
import Foundation

/// A raster image ready for a PDF page: a tenant's logo in its letterhead. JPEG is embedded as it is
/// (DCTDecode); PNG is decoded (8-bit, grey or RGB, with or without alpha, not interlaced) and stored
/// deflated, its alpha channel as a soft mask (PDF/A-2 allows transparency). Hostile files are bounded:
/// at most `maxPixels` and the inflated size is known from the header before anything is inflated.
public struct PDFImage: Sendable, Equatable {
    public enum Format: Sendable, Equatable { case jpeg, png }
    public let format: Format
    public let width: Int
    public let height: Int
    /// 1 (grey) or 3 (RGB)
    public let components: Int
    /// JPEG: the file; PNG: the deflated samples without filter bytes.
    let data: [UInt8]
    /// PNG with alpha: the deflated 8-bit alpha samples.
    let alpha: [UInt8]?

    public static let maxPixels = 4_000_000
    public static let maxFileBytes = 2 * 1024 * 1024

    public enum ImageError: Error, Sendable, Equatable, CustomStringConvertible {
        case unsupported, tooLarge, corrupt
        public var description: String {
            switch self {
            case .unsupported: "Das Bild ist kein PNG oder JPEG, das sich einbetten lässt (erlaubt: PNG mit 8 Bit je Kanal ohne Zeilensprung, JPEG in Graustufen oder RGB)."
            case .tooLarge: "Das Bild ist zu groß: höchstens 2 MB und 4 Millionen Bildpunkte."
            case .corrupt: "Die Bilddatei ist beschädigt."
            }
        }
    }

    public static func load(_ file: Data) throws(ImageError) -> PDFImage {
        let b = [UInt8](file)
        guard b.count <= maxFileBytes else { throw .tooLarge }
        if b.starts(with: [0xFF, 0xD8]) { return try jpeg(b) }
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try png(b) }
        throw .unsupported
    }

    /// The size from the frame header (SOF0…SOF3, SOF5…SOF7, SOF9…SOF11, SOF13…SOF15).
    static func jpeg(_ b: [UInt8]) throws(ImageError) -> PDFImage {
        var i = 2
        while i + 4 <= b.count {
            guard b[i] == 0xFF else { throw .corrupt }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2, i + 2 + length <= b.count else { throw .corrupt }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard length >= 8 else { throw .corrupt }
                let h = Int(b[i + 5]) << 8 | Int(b[i + 6]), w = Int(b[i + 7]) << 8 | Int(b[i + 8]), n = Int(b[i + 9])
                guard b[i + 4] == 8, n == 1 || n == 3 else { throw .unsupported }
                guard w > 0, h > 0 else { throw .corrupt }
                guard w * h <= maxPixels else { throw .tooLarge }
                return PDFImage(format: .jpeg, width: w, height: h, components: n, data: b, alpha: nil)
            }
            if marker == 0xDA || marker == 0xD9 { break }
            i += 2 + length
        }
        throw .corrupt
    }

    static func png(_ b: [UInt8]) throws(ImageError) -> PDFImage {
        func u32(_ at: Int) -> Int { Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3]) }
        var i = 8
        var width = 0, height = 0, colorType = -1
        var idat: [UInt8] = []
        while i + 8 <= b.count {
            let length = u32(i)
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            guard length >= 0, i + 12 + length <= b.count else { throw .corrupt }
            let body = (i + 8)..<(i + 8 + length)
            switch type {
            case "IHDR":
                guard length == 13 else { throw .corrupt }
                width = u32(body.lowerBound); height = u32(body.lowerBound + 4)
                let depth = b[body.lowerBound + 8], interlace = b[body.lowerBound + 12]
                colorType = Int(b[body.lowerBound + 9])
                guard depth == 8, interlace == 0, [0, 2, 4, 6].contains(colorType) else { throw .unsupported }
                guard width > 0, height > 0 else { throw .corrupt }
                // each side is checked first: the product of two 32-bit sides overflows 64 bits
                guard width <= maxPixels, height <= maxPixels, width * height <= maxPixels else { throw .tooLarge }
            case "IDAT": idat += b[body]
            case "IEND": i = b.count; continue
            default: break
            }
            i += 12 + length
        }
        guard colorType >= 0, !idat.isEmpty else { throw .corrupt }
        let channels = [0: 1, 2: 3, 4: 2, 6: 4][colorType] ?? 1
        let stride = width * channels
        // the inflated size is fixed by the header: anything longer is refused, never inflated further
        var raw = [UInt8](repeating: 0, count: height * (stride + 1))
        var rawLength = uLong(raw.count)
        let rc = idat.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBufferPointer { dst in uncompress(dst.baseAddress, &rawLength, src.baseAddress, uLong(src.count)) }
        }
        guard rc == Z_OK, Int(rawLength) == raw.count else { throw .corrupt }
        // undo the row filters (PNG spec, section 9)
        var pixels = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            let src = y * (stride + 1) + 1, row = y * stride
            for x in 0..<stride {
                let a = x >= channels ? Int(pixels[row + x - channels]) : 0
                let up = y > 0 ? Int(pixels[row - stride + x]) : 0
                let c = (x >= channels && y > 0) ? Int(pixels[row - stride + x - channels]) : 0
                let v = Int(raw[src + x])
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = up
                case 3: predicted = (a + up) / 2
                case 4:
                    let p = a + up - c, pa = abs(p - a), pb = abs(p - up), pc = abs(p - c)
                    predicted = (pa <= pb && pa <= pc) ? a : (pb <= pc ? up : c)
                default: throw .corrupt
                }
                pixels[row + x] = UInt8((v + predicted) & 0xFF)
            }
        }
        let colour = channels >= 3 ? 3 : 1
        guard channels == 2 || channels == 4 else {
            return PDFImage(format: .png, width: width, height: height, components: colour, data: PDFWriter.deflate(pixels), alpha: nil)
        }
        var samples = [UInt8](), alpha = [UInt8]()
        samples.reserveCapacity(width * height * colour); alpha.reserveCapacity(width * height)
        for p in Swift.stride(from: 0, to: pixels.count, by: channels) {
            samples += pixels[p..<(p + colour)]
            alpha.append(pixels[p + colour])
        }
        // a fully opaque alpha channel needs no mask
        let opaque = alpha.allSatisfy { $0 == 255 }
        return PDFImage(format: .png, width: width, height: height, components: colour, data: PDFWriter.deflate(samples),
                        alpha: opaque ? nil : PDFWriter.deflate(alpha))
    }
}
