import Foundation
import XRechnung

/// An OASIS genericode 1.0 code list as FIM publishes them: identification (canonical URI and
/// version URI) and rows of code and name. The code column is the one the first key refers to,
/// the name the first other column.
public struct GenericodeList: Sendable, Equatable {
    public var shortName: String
    public var canonicalURI: String
    public var canonicalVersionURI: String
    public var version: String
    public var rows: [(code: String, name: String)]

    public static func == (a: GenericodeList, b: GenericodeList) -> Bool {
        a.canonicalVersionURI == b.canonicalVersionURI && a.rows.map(\.code) == b.rows.map(\.code) && a.rows.map(\.name) == b.rows.map(\.name)
    }

    public static let namespace = "http://docs.oasis-open.org/codelist/ns/genericode/1.0/"

    public static func parse(_ data: Data, fileName: String) throws(XDFImportError) -> GenericodeList {
        let doc: ParsedXML
        do { doc = try SafeXML.parse(data, limits: XMLLimits(maxBytes: 5 * 1024 * 1024, maxDepth: 20, maxElements: 200_000)) }
        catch {
            if case .doctype = error { throw XDFImportError(fileName, line: 1, "Die Codeliste enthält eine DOCTYPE-Deklaration und wird nicht gelesen.") }
            throw XDFImportError(fileName, line: 0, "Die Codeliste ist keine wohlgeformte XML-Datei.")
        }
        let root = doc.root
        guard root.name == "CodeList", root.namespace == namespace else {
            throw XDFImportError(fileName, line: root.line, "Die Datei ist keine genericode-Codeliste (erwartet: CodeList im Namensraum \(namespace)).")
        }
        guard let ident = root.child("Identification") else { throw XDFImportError(fileName, line: root.line, "Der Codeliste fehlt „Identification“.") }
        func t(_ e: XElement?, _ n: String) -> String { e?.child(n)?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
        let columns = root.child("ColumnSet")?.children("Column").compactMap { $0.attribute("Id") } ?? []
        let keyColumn = root.child("ColumnSet")?.child("Key")?.child("ColumnRef")?.attribute("Ref") ?? columns.first ?? ""
        let nameColumn = columns.first { $0 != keyColumn } ?? keyColumn
        var rows: [(String, String)] = []
        for row in root.child("SimpleCodeList")?.children("Row") ?? .empty {
            var values: [String: String] = [:]
            for v in row.children("Value") {
                if let ref = v.attribute("ColumnRef") { values[ref] = t(v, "SimpleValue") }
            }
            guard let code = values[keyColumn], !code.isEmpty else { continue }
            rows.append((code, values[nameColumn].flatMap { $0.isEmpty ? nil : $0 } ?? code))
        }
        guard !rows.isEmpty else { throw XDFImportError(fileName, line: root.line, "Die Codeliste enthält keine Zeilen.") }
        return GenericodeList(shortName: t(ident, "ShortName"), canonicalURI: t(ident, "CanonicalUri"), canonicalVersionURI: t(ident, "CanonicalVersionUri"),
                              version: t(ident, "Version"), rows: rows)
    }
}
