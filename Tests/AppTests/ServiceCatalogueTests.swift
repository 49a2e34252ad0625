import Fluent
import XCTVapor
import XCTest
import Finder
import Forms
import RathausCore
@testable import App

/// The 35 shipped online services: each is valid, names real LeiKa keys and a legal basis, and is
/// filled and submitted once over HTTP by a generic applicant that reads only the definition.
final class ServiceCatalogueTests: XCTestCase {
    func testShippedServicesAreCompleteAndUseRealLeiKaKeys() async throws {
        let app = try await makeTestApp(demo: true)
        let versions = try await OnlineServiceCatalogue.latest(on: app.db)
        XCTAssertGreaterThanOrEqual(versions.count, 35)
        let catalogue = try FinderCatalogue.shared()
        var slugs = Set<String>()
        for v in versions {
            let d = try v.decoded()
            slugs.insert(d.slug)
            XCTAssertEqual(OnlineServiceCatalogue.problems(d), [], d.slug)
            for k in d.allLeika { XCTAssertNotNil(catalogue.index[k], "\(d.slug): LeiKa \(k) is in the catalogue") }
            XCTAssertFalse((d.legalBasis?.de ?? "").isEmpty, "\(d.slug): legal basis")
            XCTAssertNotNil(d.title.en, "\(d.slug): English title")
            if d.fee.kind != "keine" {
                XCTAssertEqual(d.feeIsDemo, true, "\(d.slug): municipal fee figures are marked as demo")
            }
        }
        XCTAssertEqual(slugs.count, versions.count)
    }

    /// A valid answer for every field, from the definition alone (dates inside their bounds,
    /// the first option, the minimum number, one PDF for files).
    static func answers(_ d: ServiceDefinition, step: StepDefinition, today: String) -> (fields: [String: String], files: [(String, String, Data)]) {
        var fields: [String: String] = [:]
        var files: [(String, String, Data)] = []
        var dates: [String: String] = [:]
        func date(_ f: FieldDefinition) -> String {
            func bound(_ spec: String?) -> String? {
                guard let spec else { return nil }
                if spec.hasPrefix("heute") {
                    var rest = spec.dropFirst(5); let years = rest.hasSuffix("j"); if years { rest = rest.dropLast() }
                    let n = Int(rest.hasPrefix("+") ? String(rest.dropFirst()) : String(rest)) ?? 0
                    return FormEngine.addDays(today, n, years: years)
                }
                return dates[spec]
            }
            let lo = bound(f.notBefore), hi = bound(f.notAfter)
            var pick = FormEngine.addDays(today, -30 * 365, years: false) ?? today
            if let lo, pick < lo { pick = lo }
            if let hi, pick > hi { pick = hi }
            dates[f.id] = pick
            return CalendarDay.display(pick)
        }
        func fill(_ f: FieldDefinition, _ name: String) {
            switch f.type {
            case .text: fields[name] = f.example ?? (f.pattern == nil ? "Beispiel" : "")
            case .multiline: fields[name] = "Beispieltext für den Antrag."
            case .number: fields[name] = f.min ?? "1"
            case .decimal: fields[name] = f.min.map { $0.replacingOccurrences(of: ".", with: ",") } ?? "1"
            case .date: fields[name] = date(f)
            case .select, .radio, .checkbox: fields[name] = d.form.options(of: f).first?.value ?? ""
            case .yesno: fields[name] = "nein"
            case .email: fields[name] = "antrag@example.org"
            case .phone: fields[name] = "0361 123456"
            case .iban: fields[name] = "DE02120300000000202051"
            case .address:
                fields[name + ".strasse"] = "Anger"; fields[name + ".hausnummer"] = "5"; fields[name + ".plz"] = "99084"; fields[name + ".ort"] = "Erfurt"
            case .file: files.append((name, "nachweis.pdf", AntragJourneyTests.pdf))
            case .label: break
            case .group:
                let n = max(f.minItems ?? 1, 1)
                fields[name + ".count"] = "\(n)"
                for i in 0..<n { for sub in f.fields ?? [] { fill(sub, "\(name).\(i).\(sub.id)") } }
            }
        }
        for f in step.fields { fill(f, f.id) }
        fields["aktion"] = "weiter"
        return (fields, files)
    }

    func testEveryShippedServiceIsSubmittedOnce() async throws {
        let app = try await makeTestApp(demo: true)
        // fees are paid in PaymentTests; here every service is sent without the payment step
        for a in try await ServiceActivation.query(on: app.db).filter(\.$tenantARS == "16051").all() {
            a.feePolicy = "keine"; try await a.save(on: app.db)
        }
        let (_, c) = try await ServicekontoTests.citizen(app, "alle-dienste@example.org")
        // identified once at level "hoch" through the test identity provider
        try await c.get("/konto/identifizieren?niveau=hoch&weiter=%2Fkonto")
        var r = try await c.post("/konto/identifizieren", ["anbieter": "test", "niveau": "hoch", "weiter": "/konto"])
        try await c.get(r.headers.first(name: .location) ?? "")
        let hosted = r.headers.first(name: .location) ?? ""
        let state = String(hosted.split(separator: "=")[1].split(separator: "&")[0])
        r = try await c.post("/konto/identifizieren/testanbieter", ["state": state, "niveau": "hoch"])
        _ = try await c.get(r.headers.first(name: .location) ?? "")
        let today = BusinessDate.today()
        var submitted: [String] = []
        for v in try await OnlineServiceCatalogue.latest(on: app.db) {
            let d = try v.decoded()
            r = try await c.get("/onlinedienste/\(d.slug)?ort=Erfurt")
            XCTAssertTrue(r.text.contains("Online beantragen ist hier möglich"), "\(d.slug) offered in Erfurt")
            r = try await c.post("/onlinedienste/\(d.slug)/antrag", ["ars": "160510000000"])
            XCTAssertEqual(r.status, .seeOther, "\(d.slug): \(r.text.prefix(300))")
            var next = r.headers.first(name: .location) ?? ""
            let base = next.components(separatedBy: "/schritt/").first ?? ""
            for s in d.form.steps {
                XCTAssertTrue(next.hasSuffix("/schritt/\(s.id)"), "\(d.slug): \(next)")
                try await c.get(next)
                let (fields, files) = Self.answers(d, step: s, today: today)
                r = try await c.postMultipart(next, fields: fields, files: files)
                XCTAssertEqual(r.status, .seeOther, "\(d.slug)/\(s.id): \(Self.errors(r.text))")
                guard r.status == .seeOther else { break }
                next = r.headers.first(name: .location) ?? ""
            }
            XCTAssertEqual(next, "\(base)/pruefen", d.slug)
            try await c.get("\(base)/pruefen")
            r = try await c.post("\(base)/absenden", ["benachrichtigung": "email"])
            XCTAssertEqual(r.status, .seeOther, "\(d.slug) send: \(Self.errors(r.text))")
            let id = UUID(uuidString: String(base.split(separator: "/").last ?? ""))
            let sent = try await Antrag.find(id, on: app.db)
            XCTAssertNotNil(sent?.reference, "\(d.slug) has a reference")
            if sent?.reference != nil { submitted.append(d.slug) }
        }
        print("ONLINEDIENSTE EINGEREICHT: \(submitted.count) – \(submitted.joined(separator: ", "))")
        XCTAssertGreaterThanOrEqual(submitted.count, 35)
    }

    static func errors(_ html: String) -> String {
        html.components(separatedBy: "class=\"error-message\">").dropFirst().map { String($0.prefix { $0 != "<" }) }.joined(separator: " | ")
    }
}
