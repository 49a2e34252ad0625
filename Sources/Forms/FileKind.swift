/// What a file is, judged by its first bytes (magic numbers), never by its name.
public enum FileKind: String, Sendable, CaseIterable {
    case pdf, png, jpeg, tiff, odt, docx, xml

    public var mediaType: String {
        switch self {
        case .pdf: "application/pdf"
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .tiff: "image/tiff"
        case .odt: "application/vnd.oasis.opendocument.text"
        case .docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case .xml: "application/xml"
        }
    }

    public var label: String {
        switch self {
        case .pdf: "PDF"
        case .png: "PNG-Bild"
        case .jpeg: "JPEG-Bild"
        case .tiff: "TIFF-Bild"
        case .odt: "OpenDocument-Text"
        case .docx: "Word-Dokument"
        case .xml: "XML"
        }
    }

    /// Extensions a file of this kind usually has (to notice names that lie).
    public var extensions: [String] {
        switch self {
        case .pdf: ["pdf"]
        case .png: ["png"]
        case .jpeg: ["jpg", "jpeg"]
        case .tiff: ["tif", "tiff"]
        case .odt: ["odt"]
        case .docx: ["docx"]
        case .xml: ["xml"]
        }
    }

    /// Detects the kind from the first bytes (at least 8, better 64). Zip containers are told apart
    /// by the first entry's name (ODF puts `mimetype` first, OOXML `[Content_Types].xml` or `_rels`).
    public static func detect(_ head: [UInt8]) -> FileKind? {
        func starts(_ sig: [UInt8]) -> Bool { head.count >= sig.count && Array(head.prefix(sig.count)) == sig }
        if starts([0x25, 0x50, 0x44, 0x46, 0x2D]) { return .pdf }                      // %PDF-
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts([0x50, 0x4B, 0x03, 0x04]), head.count >= 38 {
            let nameLen = Int(head[26]) | Int(head[27]) << 8
            let end = min(30 + nameLen, head.count)
            let name = String(decoding: head[30..<end], as: UTF8.self)
            if name == "mimetype" { return .odt }
            if name.hasPrefix("[Content_Types].xml") || name.hasPrefix("_rels/") || name.hasPrefix("word/") || name.hasPrefix("docProps/") { return .docx }
            return nil
        }
        var i = 0
        if starts([0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < head.count, [0x20, 0x09, 0x0A, 0x0D].contains(head[i]) { i += 1 }
        if head.count >= i + 5, Array(head[i..<(i + 5)]) == Array("<?xml".utf8) { return .xml }
        return nil
    }
}
