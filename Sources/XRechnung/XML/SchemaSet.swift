import CLibXML2
import Foundation

/// The three XSD entry points the official pipeline uses (UBL 2.1 Invoice, CreditNote; CII D16B),
/// compiled once by libxml2 and shared read-only between threads. Each validation gets its own
/// validation context, as libxml2 requires.
public final class SchemaSet: @unchecked Sendable {
    public enum Kind: Sendable { case ublInvoice, ublCreditNote, cii }

    /// Compiled on first use, once: a process that validates only UBL invoices (the common case
    /// of the command line and of most intake) never pays for the CreditNote and CII schemas
    /// (about a third of the start-up each, measured).
    private var compiled: [Kind: xmlSchemaPtr] = [:]
    private var failed: Set<Kind> = []
    private let lock = NSLock()
    /// One lock per schema for the compilation itself, so UBL and CII compile at the same time
    /// when the first invoices of both arrive together.
    private let compileLocks: [Kind: NSLock] = [.ublInvoice: NSLock(), .ublCreditNote: NSLock(), .cii: NSLock()]
    private let directory: String

    nonisolated(unsafe) private static var schemaDirectory: String = ""

    /// The schemas shipped in the bundle (copied unmodified from OASIS and UN/CEFACT, see README there).
    public static let shared: SchemaSet? = {
        guard let dir = Optional(Bundle.module.bundleURL.appendingPathComponent("Resources/schemas").path) else { return nil }
        return try? SchemaSet(directory: dir)
    }()

    /// Only files below the schema directory may be opened by libxml2's loader.
    static func allowedPath(_ path: String) -> Bool {
        let p = path.hasPrefix("file://") ? String(path.dropFirst(7)) : path
        guard !schemaDirectory.isEmpty, p.hasPrefix(schemaDirectory), !p.contains("..") else { return false }
        return p.hasSuffix(".xsd")
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    static func path(of kind: Kind) -> String {
        switch kind {
        case .ublInvoice: "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"
        case .ublCreditNote: "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"
        case .cii: "cii-d16b/CrossIndustryInvoice_100pD16B.xsd"
        }
    }

    public init(directory: String) throws {
        _ = SafeXML.initialised
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        SchemaSet.schemaDirectory = dir
        self.directory = dir
        for kind in [Kind.ublInvoice, .ublCreditNote, .cii] where !FileManager.default.fileExists(atPath: dir + "/" + Self.path(of: kind)) {
            throw LoadError(description: "Schema \(Self.path(of: kind)) fehlt")
        }
    }

    /// The compiled schema of `kind`, compiling it the first time (under the lock: libxml2's
    /// schema parser is not shared between threads; the compiled schema is, read-only).
    func schema(_ kind: Kind) -> xmlSchemaPtr? {
        func lookup() -> (xmlSchemaPtr?, Bool) {
            lock.lock(); defer { lock.unlock() }
            return (compiled[kind], failed.contains(kind))
        }
        if case (let s?, _) = lookup() { return s }
        guard let compileLock = compileLocks[kind] else { return nil }
        compileLock.lock()
        defer { compileLock.unlock() }
        let (again, hasFailed) = lookup()
        if let again { return again }
        if hasFailed { return nil }
        let path = directory + "/" + Self.path(of: kind)
        let parsed: xmlSchemaPtr? = {
            guard let pctxt = xmlSchemaNewParserCtxt(path) else { return nil }
            defer { xmlSchemaFreeParserCtxt(pctxt) }
            // Silence libxml2's stderr output for the (harmless) missing xmldsig DTD reference.
            xmlSchemaSetParserStructuredErrors(pctxt, { _, _ in }, nil)
            return xmlSchemaParse(pctxt)
        }()
        lock.lock(); defer { lock.unlock() }
        if let parsed { compiled[kind] = parsed } else { failed.insert(kind) }
        return parsed
    }

    deinit {
        for s in compiled.values { xmlSchemaFree(s) }
    }

    public struct SchemaError: Sendable, Equatable {
        public let line: Int
        public let message: String
    }

    /// The schema errors of a parsed document (empty when valid), at most 50: those found while
    /// it was parsed when the parse checked this schema (the usual case, see `SafeXML.parse`),
    /// otherwise from one more validating pass over its bytes.
    public func validate(_ xml: ParsedXML, as kind: Kind) -> [SchemaError] {
        guard let schema = schema(kind) else { return [SchemaError(line: 0, message: "schema unavailable")] }
        if let checked = xml.checked, checked.schema == schema { return checked.errors }
        return SAXRun.run(xml.input, builder: nil, schema: schema).schemaErrors
    }
}

extension SchemaSet.Kind {
    /// The schema for a root element's local name (the namespace is checked after the parse).
    init?(rootName: String) {
        switch rootName {
        case "Invoice": self = .ublInvoice
        case "CreditNote": self = .ublCreditNote
        case "CrossIndustryInvoice": self = .cii
        default: return nil
        }
    }
}
