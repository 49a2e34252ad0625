import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// XZuFi 2.2 transfer messages (namespace `http://xoev.de/schemata/xzufi/2_2_0`) for services,
/// offices and responsibilities, with `schreibe` / `loesche` operations.
///
/// No official XSD or sample file was available to this project; element names follow the object
/// model observed in public XZuFi consumers (see shared/data/xzufi). Structured opening hours and
/// the main-office flag have no element there and travel in the Rathaus extension namespace.
public enum XZuFi {
    public static let namespace = "http://xoev.de/schemata/xzufi/2_2_0"
    public static let extensionNamespace = "urn:de:rathaus:xzufi-erweiterung:1"

    public struct Text: Equatable, Sendable {
        /// Module code of `urn:de:xzufi:codeliste:leistungstextmodulleika` (e.g. 06 Volltext).
        public var module: String
        public var text: String
        public var feeMinCents: Int64?
        public var feeMaxCents: Int64?
        public init(module: String, text: String, feeMinCents: Int64? = nil, feeMaxCents: Int64? = nil) {
            self.module = module; self.text = text; self.feeMinCents = feeMinCents; self.feeMaxCents = feeMaxCents
        }
    }

    public struct Service: Equatable, Sendable {
        public var id: String
        /// Editing body (schemeAgencyID): ARS of the tenant, or "" for the statewide editors.
        public var agency: String
        public var leikaKey: String
        public var name: String
        public var typisierung: String
        public var texts: [Text]
        public init(id: String, agency: String, leikaKey: String, name: String, typisierung: String, texts: [Text]) {
            self.id = id; self.agency = agency; self.leikaKey = leikaKey; self.name = name; self.typisierung = typisierung; self.texts = texts
        }
    }

    public struct Responsibility: Equatable, Sendable {
        public var id: String
        public var leikaKey: String
        public var areaARS: String
        /// 01 = zuständige Stelle, 02 = Ansprechpunkt.
        public var role: String
        public init(id: String, leikaKey: String, areaARS: String, role: String) {
            self.id = id; self.leikaKey = leikaKey; self.areaARS = areaARS; self.role = role
        }
    }

    public struct Office: Equatable, Sendable {
        public var id: String
        public var agency: String
        public var name: String
        public var kind: String
        public var street: String
        public var postalCode: String
        public var city: String
        public var areaARS: String
        public var phone: String
        public var email: String
        public var website: String
        public var appointmentURL: String
        public var accessibility: String
        public var latitude: Double?
        public var longitude: Double?
        public var hours: OpeningHours
        public var isMain: Bool
        public var responsibilities: [Responsibility]
        public init(id: String, agency: String, name: String, kind: String, street: String, postalCode: String, city: String,
                    areaARS: String, phone: String, email: String, website: String, appointmentURL: String, accessibility: String,
                    latitude: Double?, longitude: Double?, hours: OpeningHours, isMain: Bool, responsibilities: [Responsibility]) {
            self.id = id; self.agency = agency; self.name = name; self.kind = kind; self.street = street; self.postalCode = postalCode
            self.city = city; self.areaARS = areaARS; self.phone = phone; self.email = email; self.website = website
            self.appointmentURL = appointmentURL; self.accessibility = accessibility; self.latitude = latitude
            self.longitude = longitude; self.hours = hours; self.isMain = isMain; self.responsibilities = responsibilities
        }
    }

    public struct Deletion: Equatable, Sendable {
        /// Zustaendigkeit | Leistung | Organisationseinheit
        public var klasse: String
        public var id: String
        public var agency: String
        public init(klasse: String, id: String, agency: String) { self.klasse = klasse; self.id = id; self.agency = agency }
    }

    public struct Message: Equatable, Sendable {
        public var messageID: String
        public var created: String
        public var services: [Service]
        public var offices: [Office]
        public var deletions: [Deletion]
        public init(messageID: String, created: String, services: [Service] = [], offices: [Office] = [], deletions: [Deletion] = []) {
            self.messageID = messageID; self.created = created; self.services = services; self.offices = offices; self.deletions = deletions
        }
    }

    // MARK: writing

    public static func render(_ m: Message) -> String {
        var x = XMLWriter()
        x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        x.open("xzufi:transfer.operation.040101", ["xmlns:xzufi": namespace, "xmlns:rathaus": extensionNamespace, "xzufiVersion": "2.2.0"])
        x.open("xzufi:nachrichtenkopf")
        x.leaf("xzufi:nachrichtID", m.messageID)
        x.leaf("xzufi:erstellungszeitpunkt", m.created)
        x.leaf("xzufi:autor", "Rathaus")
        x.close("xzufi:nachrichtenkopf")
        for s in m.services {
            x.open("xzufi:schreibe")
            x.open("xzufi:leistung")
            x.leaf("xzufi:id", s.id, ["schemeAgencyID": s.agency.isEmpty ? "land" : s.agency])
            x.open("xzufi:referenzLeiKa"); x.leaf("code", s.leikaKey); x.close("xzufi:referenzLeiKa")
            x.open("xzufi:modulText")
            x.leaf("xzufi:inhalt", s.name, ["languageCode": "de"])
            x.open("xzufi:leikaTextmodul"); x.leaf("code", "02"); x.close("xzufi:leikaTextmodul")
            x.close("xzufi:modulText")
            for t in s.texts where dedicated[t.module] != nil {
                // fees, deadlines, processing time and search terms have modules of their own
                let el = dedicated[t.module]!
                x.open("xzufi:\(el)")
                if t.module == "synonyme" {
                    for term in t.text.split(separator: ",") {
                        x.open("xzufi:begriffImKontext"); x.leaf("xzufi:begriff", term.trimmingCharacters(in: .whitespaces)); x.close("xzufi:begriffImKontext")
                    }
                } else {
                    x.leaf("xzufi:beschreibung", t.text, ["languageCode": "de"])
                }
                if let min = t.feeMinCents {
                    x.open("rathaus:gebuehr")
                    x.leaf("rathaus:vonCent", String(min))
                    x.leaf("rathaus:bisCent", String(t.feeMaxCents ?? min))
                    x.close("rathaus:gebuehr")
                }
                x.close("xzufi:\(el)")
            }
            for t in s.texts where dedicated[t.module] == nil {
                x.open("xzufi:modulText")
                x.leaf("xzufi:inhalt", t.text, ["languageCode": "de"])
                x.open("xzufi:leikaTextmodul"); x.leaf("code", t.module); x.close("xzufi:leikaTextmodul")
                if let min = t.feeMinCents {
                    x.open("rathaus:gebuehr")
                    x.leaf("rathaus:vonCent", String(min))
                    x.leaf("rathaus:bisCent", String(t.feeMaxCents ?? min))
                    x.close("rathaus:gebuehr")
                }
                x.close("xzufi:modulText")
            }
            x.open("xzufi:typisierung"); x.leaf("code", s.typisierung); x.close("xzufi:typisierung")
            x.close("xzufi:leistung")
            x.close("xzufi:schreibe")
        }
        for o in m.offices {
            x.open("xzufi:schreibe")
            x.open("xzufi:organisationseinheit")
            x.leaf("xzufi:id", o.id, ["schemeAgencyID": o.agency])
            x.open("xzufi:name"); x.leaf("xzufi:name", o.name, ["languageCode": "de"]); x.close("xzufi:name")
            x.leaf("xzufi:kategorie", o.kind)
            x.open("xzufi:anschrift")
            x.leaf("xzufi:strasse", o.street)
            x.leaf("xzufi:postleitzahl", o.postalCode)
            x.leaf("xzufi:ort", o.city)
            x.open("xzufi:verwaltungspolitischeKodierung")
            x.open("xzufi:regionalschluessel"); x.leaf("code", o.areaARS); x.close("xzufi:regionalschluessel")
            x.close("xzufi:verwaltungspolitischeKodierung")
            if let lat = o.latitude, let lon = o.longitude {
                x.open("xzufi:geokodierung"); x.leaf("xzufi:breite", String(lat)); x.leaf("xzufi:laenge", String(lon)); x.close("xzufi:geokodierung")
            }
            x.close("xzufi:anschrift")
            x.open("xzufi:kommunikation")
            if !o.phone.isEmpty { x.leaf("xzufi:telefon", o.phone) }
            if !o.email.isEmpty { x.leaf("xzufi:email", o.email) }
            if !o.website.isEmpty { x.leaf("xzufi:internetadresse", o.website) }
            x.close("xzufi:kommunikation")
            if !o.appointmentURL.isEmpty { x.leaf("xzufi:terminvereinbarung", o.appointmentURL) }
            if !o.accessibility.isEmpty { x.leaf("xzufi:barrierefreiheit", o.accessibility) }
            x.open("rathaus:oeffnungszeiten")
            for d in o.hours.weekly.keys.sorted() {
                for iv in (o.hours.weekly[d] ?? []).sorted(by: { $0.from < $1.from }) {
                    x.leaf("rathaus:zeit", "", ["wochentag": String(d), "von": hhmm(iv.from), "bis": hhmm(iv.to)])
                }
            }
            for e in o.hours.exceptions {
                x.open("rathaus:ausnahme", ["datum": e.date, "hinweis": e.note])
                for iv in e.intervals { x.leaf("rathaus:zeit", "", ["von": hhmm(iv.from), "bis": hhmm(iv.to)]) }
                x.close("rathaus:ausnahme")
            }
            x.close("rathaus:oeffnungszeiten")
            x.leaf("rathaus:hauptsitz", o.isMain ? "true" : "false")
            for r in o.responsibilities {
                x.open("xzufi:zustaendigkeit")
                x.leaf("xzufi:id", r.id, ["schemeAgencyID": o.agency])
                x.leaf("xzufi:leistungID", r.leikaKey)
                x.leaf("xzufi:gebietID", r.areaARS)
                x.open("xzufi:rolle"); x.leaf("code", r.role); x.close("xzufi:rolle")
                x.close("xzufi:zustaendigkeit")
            }
            x.close("xzufi:organisationseinheit")
            x.close("xzufi:schreibe")
        }
        for d in m.deletions {
            x.open("xzufi:loesche", ["klasse": d.klasse])
            x.leaf("xzufi:id", d.id, ["schemeAgencyID": d.agency])
            x.close("xzufi:loesche")
        }
        x.close("xzufi:transfer.operation.040101")
        return x.out
    }

    /// Text kinds with a module element of their own instead of `modulText`.
    static let dedicated = ["kosten": "modulKosten", "fristen": "modulFrist", "bearbeitungsdauer": "modulBearbeitungsdauer",
                            "synonyme": "modulBegriffImKontext"]

    static func hhmm(_ m: Int) -> String { String(format: "%02d:%02d", m / 60, m % 60) }

    // MARK: reading

    public struct ParseError: Error, Equatable, Sendable {
        public let messageDE: String
    }

    /// Parses a message. Refuses DOCTYPE (no DTDs, no entities), bounds size and depth.
    public static func parse(_ data: Data, maxBytes: Int = 50_000_000, maxDepth: Int = 40) throws -> Message {
        guard data.count <= maxBytes else { throw ParseError(messageDE: "Die Datei ist größer als \(maxBytes / 1_000_000) MB.") }
        if data.range(of: Data("<!DOCTYPE".utf8)) != nil || data.range(of: Data("<!ENTITY".utf8)) != nil {
            throw ParseError(messageDE: "XML mit DOCTYPE oder Entity-Deklarationen wird aus Sicherheitsgründen nicht angenommen.")
        }
        let root = try MiniXML.parse(data, maxDepth: maxDepth)
        guard root.name == "transfer.operation.040101" || root.name.hasPrefix("transfer.") || root.name.hasSuffix("040101"),
              root.namespace == namespace else {
            throw ParseError(messageDE: "Das ist keine XZuFi-2.2-Nachricht (erwartet: Namensraum \(namespace)).")
        }
        var m = Message(messageID: root.child("nachrichtenkopf")?.child("nachrichtID")?.text ?? "", created: root.child("nachrichtenkopf")?.child("erstellungszeitpunkt")?.text ?? "")
        for op in root.children {
            switch op.name {
            case "schreibe":
                for obj in op.children {
                    if obj.name == "leistung" { m.services.append(try service(obj)) }
                    if obj.name == "organisationseinheit" { m.offices.append(try office(obj)) }
                }
            case "loesche":
                let id = op.child("id")
                m.deletions.append(Deletion(klasse: op.attributes["klasse"] ?? "", id: id?.text ?? "", agency: id?.attributes["schemeAgencyID"] ?? ""))
            default: continue
            }
        }
        return m
    }

    static func service(_ e: MiniXML.Element) throws -> Service {
        let id = e.child("id")
        var texts: [Text] = []
        var name = ""
        for t in e.all("modulText") {
            let code = t.child("leikaTextmodul")?.child("code")?.text ?? ""
            let content = t.child("inhalt")?.text ?? ""
            if code == "02" { name = content; continue }
            let fee = t.child("gebuehr")
            texts.append(Text(module: code, text: content, feeMinCents: fee?.child("vonCent")?.text.flatMap { Int64($0) },
                              feeMaxCents: fee?.child("bisCent")?.text.flatMap { Int64($0) }))
        }
        for (module, el) in dedicated.sorted(by: { $0.key < $1.key }) {
            guard let m = e.child(el) else { continue }
            let fee = m.child("gebuehr")
            let text = module == "synonyme" ? m.all("begriffImKontext").compactMap { $0.child("begriff")?.text }.joined(separator: ", ")
                                            : (m.child("beschreibung")?.text ?? "")
            texts.append(Text(module: module, text: text, feeMinCents: fee?.child("vonCent")?.text.flatMap { Int64($0) },
                              feeMaxCents: fee?.child("bisCent")?.text.flatMap { Int64($0) }))
        }
        let agency = id?.attributes["schemeAgencyID"] ?? ""
        return Service(id: id?.text ?? "", agency: agency == "land" ? "" : agency, leikaKey: e.child("referenzLeiKa")?.child("code")?.text ?? "",
                       name: name, typisierung: e.child("typisierung")?.child("code")?.text ?? "", texts: texts)
    }

    static func office(_ e: MiniXML.Element) throws -> Office {
        let id = e.child("id")
        var hours = OpeningHours()
        if let oz = e.child("oeffnungszeiten") {
            for z in oz.all("zeit") {
                if let d = z.attributes["wochentag"].flatMap(Int.init), let f = z.attributes["von"].flatMap(OpeningHours.Interval.minutes),
                   let t = z.attributes["bis"].flatMap(OpeningHours.Interval.minutes) {
                    hours.weekly[d, default: []].append(.init(from: f, to: t))
                }
            }
            for a in oz.all("ausnahme") {
                let ivs = a.all("zeit").compactMap { z -> OpeningHours.Interval? in
                    guard let f = z.attributes["von"].flatMap(OpeningHours.Interval.minutes), let t = z.attributes["bis"].flatMap(OpeningHours.Interval.minutes) else { return nil }
                    return .init(from: f, to: t)
                }
                hours.exceptions.append(.init(date: a.attributes["datum"] ?? "", intervals: ivs, note: a.attributes["hinweis"] ?? ""))
            }
        }
        let address = e.child("anschrift")
        let k = e.child("kommunikation")
        let geo = address?.child("geokodierung")
        return Office(
            id: id?.text ?? "", agency: id?.attributes["schemeAgencyID"] ?? "", name: e.child("name")?.child("name")?.text ?? "",
            kind: e.child("kategorie")?.text ?? "", street: address?.child("strasse")?.text ?? "",
            postalCode: address?.child("postleitzahl")?.text ?? "", city: address?.child("ort")?.text ?? "",
            areaARS: address?.child("verwaltungspolitischeKodierung")?.child("regionalschluessel")?.child("code")?.text ?? "",
            phone: k?.child("telefon")?.text ?? "", email: k?.child("email")?.text ?? "", website: k?.child("internetadresse")?.text ?? "",
            appointmentURL: e.child("terminvereinbarung")?.text ?? "", accessibility: e.child("barrierefreiheit")?.text ?? "",
            latitude: geo?.child("breite")?.text.flatMap(Double.init), longitude: geo?.child("laenge")?.text.flatMap(Double.init),
            hours: hours, isMain: e.child("hauptsitz")?.text == "true",
            responsibilities: e.all("zustaendigkeit").map {
                Responsibility(id: $0.child("id")?.text ?? "", leikaKey: $0.child("leistungID")?.text ?? "",
                               areaARS: $0.child("gebietID")?.text ?? "", role: $0.child("rolle")?.child("code")?.text ?? "01")
            })
    }
}

/// Minimal escaping XML writer.
struct XMLWriter {
    var out = ""
    var depth = 0

    mutating func raw(_ s: String) { out += s }

    static func esc(_ s: String) -> String {
        var r = ""
        r.reserveCapacity(s.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            default:
                // characters XML 1.0 cannot carry are dropped rather than producing an unreadable file
                if c.value < 0x20 && c != "\n" && c != "\t" && c != "\r" { continue }
                r.unicodeScalars.append(c)
            }
        }
        return r
    }

    func attrs(_ a: [String: String]) -> String {
        a.keys.sorted().map { " \($0)=\"\(Self.esc(a[$0]!))\"" }.joined()
    }

    mutating func open(_ name: String, _ a: [String: String] = [:]) {
        out += String(repeating: " ", count: depth) + "<\(name)\(attrs(a))>\n"
        depth += 1
    }

    mutating func close(_ name: String) {
        depth -= 1
        out += String(repeating: " ", count: depth) + "</\(name)>\n"
    }

    mutating func leaf(_ name: String, _ text: String, _ a: [String: String] = [:]) {
        out += String(repeating: " ", count: depth) + "<\(name)\(attrs(a))>\(Self.esc(text))</\(name)>\n"
    }
}

/// A small DOM over Foundation's XMLParser with namespace processing, external entities off,
/// and a depth limit.
public enum MiniXML {
    public final class Element {
        public let name: String
        public let namespace: String?
        public let attributes: [String: String]
        public var children: [Element] = []
        var buffer = ""
        init(name: String, namespace: String?, attributes: [String: String]) {
            self.name = name; self.namespace = namespace; self.attributes = attributes
        }
        public var text: String? { buffer.trimmingCharacters(in: .whitespacesAndNewlines) }
        public func child(_ n: String) -> Element? { children.first { $0.name == n } }
        public func all(_ n: String) -> [Element] { children.filter { $0.name == n } }
    }

    final class Delegate: NSObject, XMLParserDelegate {
        var stack: [Element] = []
        var root: Element?
        let maxDepth: Int
        var tooDeep = false
        init(maxDepth: Int) { self.maxDepth = maxDepth }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if stack.count >= maxDepth { tooDeep = true; parser.abortParsing(); return }
            let e = Element(name: elementName, namespace: namespaceURI, attributes: attributes)
            stack.last?.children.append(e)
            if root == nil { root = e }
            stack.append(e)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            _ = stack.popLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.buffer += string
        }
    }

    public static func parse(_ data: Data, maxDepth: Int) throws -> Element {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        let d = Delegate(maxDepth: maxDepth)
        parser.delegate = d
        let ok = parser.parse()
        if d.tooDeep { throw XZuFi.ParseError(messageDE: "Die XML-Struktur ist tiefer als \(maxDepth) Ebenen verschachtelt.") }
        guard ok, let root = d.root else {
            throw XZuFi.ParseError(messageDE: "Die Datei ist kein wohlgeformtes XML (Zeile \(parser.lineNumber)).")
        }
        return root
    }
}
