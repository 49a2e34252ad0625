import XCTVapor
import XCTest
@testable import App

/// Every role finds everything it may do from its navigation, and every link there opens.
final class RoleNavigationTests: XCTestCase {
    func navLinks(_ html: String) -> [String] {
        guard let start = html.range(of: "class=\"main-nav role-nav\"") else { return [] }
        let rest = html[start.upperBound...]
        let block = rest[..<(rest.range(of: "</nav>")?.lowerBound ?? rest.endIndex)]
        return block.components(separatedBy: "href=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
    }

    func testEveryRoleReachesItsPagesFromTheNavigation() async throws {
        let app = try await makeTestApp(demo: true)
        let cases: [(Role, String?, [String])] = [
            (.operator, nil, ["/betrieb", "/betrieb/umfragen", "/uebersicht", "/betrieb/audit", "/betrieb/rechtstexte", "/betrieb/personal", "/betrieb/jobs",
                             "/kompetenzzentrum/reichweite", "/foerderung", "/foerderung/haushalt", "/rollout", "/rollout/nachfrage",
                             "/isms/uebersicht", "/betrieb/isms"]),
            (.state, "16", ["/betrieb/umfragen", "/uebersicht", "/land/onlinedienste", "/land/onlinedienste/fim", "/mandanten/16/personal", "/mandanten/16/sicherheit", "/kompetenzzentrum/reichweite",
                            "/foerderung", "/foerderung/haushalt", "/rollout", "/rollout/nachfrage", "/isms/uebersicht", "/betrieb/isms"]),
            (.tenantAdmin, "16051", ["/mandanten/16051", "/mandanten/16051/antraege", "/mandanten/16051/rechnungen", "/mandanten/16051/kasse",
                                     "/mandanten/16051/onlinedienste", "/mandanten/16051/fitconnect", "/mandanten/16051/organisationseinheiten", "/mandanten/16051/zustaendigkeiten",
                                     "/mandanten/16051/leitweg-ids", "/mandanten/16051/zahlungen", "/mandanten/16051/tokens", "/mandanten/16051/rechtstexte", "/mandanten/16051/personal", "/mandanten/16051/briefkopf",
                                     "/mandanten/16051/fortbildung", "/veranstaltungen/meine", "/mandanten/16051/foerderung", "/mandanten/16051/cockpit", "/mandanten/16051/isms",
                                     "/mandanten/16051/isms/massnahmen", "/mandanten/16051/isms/struktur", "/mandanten/16051/sicherheitsvorfaelle", "/mandanten/16051/sicherheit",
                                     "/mandanten/16051/beschaffung", "/mandanten/16051/beschaffung/einstellungen"]),
            (.clerk, "16051", ["/mandanten/16051", "/mandanten/16051/antraege", "/mandanten/16051/rechnungen", "/veranstaltungen/meine", "/mandanten/16051/sicherheitsvorfaelle"]),
            (.cashOffice, "16051", ["/mandanten/16051/kasse", "/mandanten/16051/antraege", "/veranstaltungen/meine", "/mandanten/16051/sicherheitsvorfaelle"]),
            (.competenceCentre, nil, ["/kompetenzzentrum", "/kompetenzzentrum/besuche", "/kompetenzzentrum/reichweite"]),
            (.fundingClerk, "160715007", ["/mandanten/160715007/foerderung", "/veranstaltungen/meine", "/mandanten/160715007/sicherheitsvorfaelle"]),
            (.signatory, "160715007046", ["/mandanten/160715007046/foerderung", "/veranstaltungen/meine", "/mandanten/160715007046/sicherheitsvorfaelle"]),
            (.fundingOfficer, "16", ["/foerderung", "/foerderung/haushalt", "/foerderung/programme"]),
            (.isb, "160710003003", ["/mandanten/160710003003", "/mandanten/160710003003/isms", "/veranstaltungen/meine", "/mandanten/160710003003/isms/massnahmen",
                                      "/mandanten/160710003003/isms/struktur", "/mandanten/160710003003/sicherheitsvorfaelle"]),
            (.cert, nil, ["/betrieb/sicherheitsvorfaelle", "/isms/uebersicht"]),
            (.procurement, nil, ["/einkauf", "/einkauf/abrufe", "/einkauf/rechnungen", "/einkauf/rechnungssteller", "/einkauf/bedarf", "/einkauf/beitraege"]),
            (.procurementClerk, "160710003003", ["/mandanten/160710003003", "/mandanten/160710003003/beschaffung", "/veranstaltungen/meine",
                                                  "/mandanten/160710003003/sicherheitsvorfaelle"]),
        ]
        for (role, tenant, expected) in cases {
            let u = try await createUser(app, email: "\(role.rawValue)@nav.test", role: role, tenant: tenant)
            let b = Browser(app)
            try await b.login(u)
            let home = try await b.get("/")
            let links = navLinks(home.text)
            XCTAssertEqual(Set(links), Set(expected), "\(role.rawValue): \(links)")
            for l in links {
                let r = try await b.get(l)
                XCTAssertEqual(r.status, .ok, "\(role.rawValue) \(l)")
            }
        }
    }
}
