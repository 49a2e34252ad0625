import Fluent
import JOSE
import XCTest
import XCTVapor
@testable import App

/// The OpenID Connect routes without a provider process (the full sign-in against a real provider
/// runs in `.ci/oidc.py`): switched off they do not exist; with a provider that cannot be reached
/// the person gets a German 502 and can sign in with the password; a callback without a started
/// sign-in is refused and creates nothing.
final class OIDCTests: XCTestCase {
    func testRoutesAreAbsentWithoutConfiguration() async throws {
        let app = try await makeTestApp()
        let b = Browser(app)
        let login = try await b.get("/konto/anmelden")
        XCTAssertFalse(login.text.contains("/konto/oidc/anmelden"))
        let start = try await b.post("/konto/oidc/anmelden", ["weiter": "/konto"])
        XCTAssertEqual(start.status, .notFound)
        let cb = try await b.get("/konto/oidc/rueckkehr?state=x&code=y")
        XCTAssertEqual(cb.status, .notFound)
    }

    func testUnreachableProviderAndCallbackWithoutSignIn() async throws {
        let app = try await makeTestApp()
        // port 9 (discard) on loopback: nothing listens there
        app.oidc = OIDCConfig(issuer: "http://127.0.0.1:9", clientID: "rathaus", clientSecret: "x", name: "Servicekonto Test")
        let b = Browser(app)
        let login = try await b.get("/konto/anmelden")
        XCTAssertTrue(login.text.contains("Servicekonto Test"))
        XCTAssertTrue(login.headers.first(name: "Content-Security-Policy")?.contains("form-action 'self' http://127.0.0.1:9") ?? false)
        let r = try await b.post("/konto/oidc/anmelden", ["weiter": "/konto"])
        XCTAssertEqual(r.status, .badGateway)
        XCTAssertTrue(r.text.contains("Identitätsanbieter ist gerade nicht erreichbar"), r.text)
        let started = try await OIDCLogin.query(on: app.db).count()
        XCTAssertEqual(started, 0, "no sign-in started")
        let cb = try await b.get("/konto/oidc/rueckkehr?state=\(String(repeating: "a", count: 43))&code=abc")
        XCTAssertEqual(cb.status, .badRequest)
        XCTAssertTrue(cb.text.contains("abgelaufen oder wurde schon verwendet"))
        let citizens = try await User.query(on: app.db).filter(\.$kind == AccountKind.citizen.rawValue).count()
        XCTAssertEqual(citizens, 0)
    }

    func testConfigurationFromTheEnvironmentMapsTrustLevels() {
        var c = OIDCConfig(issuer: "https://konto.example", clientID: "rathaus", clientSecret: "")
        XCTAssertEqual(c.trustLevel(["acr": .string("STORK-QAA-Level-3")]), .substanziell)
        XCTAssertEqual(c.trustLevel(["acr": .string("STORK-QAA-Level-4")]), .hoch)
        XCTAssertEqual(c.trustLevel(["acr": .string("erfunden")]), .basisregistrierung)
        XCTAssertEqual(c.trustLevel([:]), .basisregistrierung)
        c.trustClaim = "eidas"
        XCTAssertEqual(c.trustLevel(["eidas": .string("high"), "acr": .string("low")]), .hoch)
        XCTAssertEqual(c.origin, "https://konto.example")
        XCTAssertTrue(OIDCConfig.acceptableURL("https://konto.example/auth"))
        XCTAssertTrue(OIDCConfig.acceptableURL("http://127.0.0.1:9400/auth"))
        XCTAssertFalse(OIDCConfig.acceptableURL("http://konto.example/auth"), "plain HTTP only on this machine")
        XCTAssertEqual(OIDCController.isoDate("1984-01-26"), "1984-01-26")
        XCTAssertNil(OIDCController.isoDate("1984-02-30"))
        XCTAssertNil(OIDCController.isoDate("26.01.1984"))
    }
}
