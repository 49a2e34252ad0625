import Fluent
import Forms
import Vapor
import XRechnung
import RathausCore

/// A submitted application for specialist software: JSON (API and download) and XML after the
/// published schema `/schemas/antrag-1.xsd` (namespace `urn:rathaus:antrag:1`).
enum AntragExport {
    struct FileDTO: Content { var id: UUID; var feld: String; var name: String; var art: String; var groesse: Int; var sha256: String; var url: String }
    struct ServiceRef: Content { var kennung: String; var version: Int; var leika: String; var titel: String }
    struct TenantRef: Content { var ars: String; var name: String }
    struct OfficeRef: Content { var id: UUID?; var name: String }
    struct PersonRef: Content { var name: String; var email: String }
    struct AntragDTO: Content {
        var id: UUID; var aktenzeichen: String; var onlinedienst: ServiceRef; var mandant: TenantRef; var behoerde: OfficeRef
        var antragsteller: PersonRef; var status: String; var eingegangen: String; var abgeholt: String?; var gebuehrCent: Int
        var angaben: Answers; var dateien: [FileDTO]
    }

    static func dto(_ a: Antrag, on db: any Database, fileBase: String) async throws -> AntragDTO {
        let id = try a.requireID()
        let v = try await OnlineServiceCatalogue.version(a.slug, a.version, on: db)
        let files = try await AntragFile.query(on: db).filter(\.$antragID == id).filter(\.$messageID == nil).all()
        return AntragDTO(id: id, aktenzeichen: a.reference ?? "", onlinedienst: ServiceRef(kennung: a.slug, version: a.version, leika: v?.leika ?? "", titel: a.serviceTitle),
                         mandant: TenantRef(ars: a.tenantARS, name: a.tenantName), behoerde: OfficeRef(id: a.officeID, name: a.officeName),
                         antragsteller: PersonRef(name: a.applicantName, email: a.applicantEmail), status: a.status,
                         eingegangen: a.submittedAt.map(Audit.timestamp) ?? "", abgeholt: a.fetchedAt.map(Audit.timestamp), gebuehrCent: a.feeCents,
                         angaben: a.decodedAnswers(),
                         dateien: files.map { FileDTO(id: $0.id ?? UUID(), feld: $0.field, name: $0.name, art: $0.kind, groesse: $0.size, sha256: $0.sha256,
                                                      url: "\(fileBase)/\($0.id?.uuidString ?? "")") })
    }

    static func jsonResponse(_ a: Antrag, req: Request, fileBase: String) async throws -> Response {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(try await dto(a, on: req.db, fileBase: fileBase))
        let res = Response(status: .ok, body: .init(data: data))
        res.headers.contentType = .json
        if !req.url.path.hasPrefix("/api/") {
            res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(a.reference ?? "antrag").json\"")
        }
        return res
    }

    /// Text for XML: escaped, and without control characters XML 1.0 does not allow.
    static func x(_ s: String) -> String {
        InvoiceHTML.escape(String(s.unicodeScalars.filter { $0.value >= 0x20 || $0 == "\n" || $0 == "\t" || $0 == "\r" }.map(Character.init)))
    }

    static func xml(_ d: AntragDTO) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Antrag xmlns=\"urn:rathaus:antrag:1\" id=\"\(d.id.uuidString.lowercased())\">\n"
        out += "  <Aktenzeichen>\(x(d.aktenzeichen))</Aktenzeichen>\n"
        out += "  <Onlinedienst kennung=\"\(x(d.onlinedienst.kennung))\" version=\"\(d.onlinedienst.version)\" leika=\"\(x(d.onlinedienst.leika))\">\(x(d.onlinedienst.titel))</Onlinedienst>\n"
        out += "  <Mandant ars=\"\(x(d.mandant.ars))\">\(x(d.mandant.name))</Mandant>\n"
        out += "  <Behoerde\(d.behoerde.id.map { " id=\"\($0.uuidString.lowercased())\"" } ?? "")>\(x(d.behoerde.name))</Behoerde>\n"
        out += "  <Antragsteller><Name>\(x(d.antragsteller.name))</Name><EMail>\(x(d.antragsteller.email))</EMail></Antragsteller>\n"
        out += "  <Status>\(x(d.status))</Status>\n  <Eingegangen>\(x(d.eingegangen))</Eingegangen>\n  <GebuehrCent>\(d.gebuehrCent)</GebuehrCent>\n"
        out += "  <Angaben>\n"
        out += angaben(d.angaben, indent: "    ")
        out += "  </Angaben>\n  <Dateien>\n"
        for f in d.dateien {
            out += "    <Datei id=\"\(f.id.uuidString.lowercased())\" feld=\"\(x(f.feld))\" art=\"\(x(f.art))\" groesse=\"\(f.groesse)\" sha256=\"\(f.sha256)\">\(x(f.name))</Datei>\n"
        }
        out += "  </Dateien>\n</Antrag>\n"
        return out
    }

    static func angaben(_ a: [String: AnswerValue], indent: String) -> String {
        var out = ""
        for key in a.keys.sorted() {
            guard let v = a[key] else { continue }
            switch v {
            case .text(let s): out += "\(indent)<Angabe feld=\"\(x(key))\">\(x(s))</Angabe>\n"
            case .list(let l):
                out += "\(indent)<Auswahl feld=\"\(x(key))\">" + l.map { "<Wert>\(x($0))</Wert>" }.joined() + "</Auswahl>\n"
            case .record(let r):
                out += "\(indent)<Zusammengesetzt feld=\"\(x(key))\">" + r.keys.sorted().map { "<Teil name=\"\(x($0))\">\(x(r[$0] ?? ""))</Teil>" }.joined() + "</Zusammengesetzt>\n"
            case .items(let items):
                out += "\(indent)<Gruppe feld=\"\(x(key))\">\n"
                for (i, it) in items.enumerated() {
                    out += "\(indent)  <Eintrag nr=\"\(i + 1)\">\n" + angaben(it, indent: indent + "    ") + "\(indent)  </Eintrag>\n"
                }
                out += "\(indent)</Gruppe>\n"
            }
        }
        return out
    }

    static func xmlResponse(_ a: Antrag, req: Request) async throws -> Response {
        let d = try await dto(a, on: req.db, fileBase: "")
        let res = Response(status: .ok, body: .init(string: xml(d)))
        res.headers.contentType = HTTPMediaType(type: "application", subType: "xml", parameters: ["charset": "utf-8"])
        if !req.url.path.hasPrefix("/api/") {
            res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(a.reference ?? "antrag").xml\"")
        }
        return res
    }
}

/// Where submitted applications go after the commit. Today the office's specialist software
/// pulls them (`GET /api/v1/antraege`, then `POST …/empfangen`); a FIT-Connect-style push
/// transport implements the same protocol and is chosen per activation, without changes to the
/// form, the submission or the inbox.
protocol SubmissionTransport: Sendable {
    var name: String { get }
    /// Called by a job after the submission committed; must be idempotent per submission id.
    func deliver(_ submission: AntragExport.AntragDTO, xml: String) async throws
}

/// The built-in transport: nothing is pushed; the case waits in the inbox and the API.
struct PullTransport: SubmissionTransport {
    let name = "abholung"
    func deliver(_ submission: AntragExport.AntragDTO, xml: String) async throws {}
}
