import XCTest
@testable import RathausCore

final class NetworkAllowListTests: XCTestCase {
    func testNetworksAndAddresses() throws {
        let l = try NetworkAllowList.parse("192.0.2.0/24\n# Außenstelle\n198.51.100.7, 2001:db8::/32\n")
        XCTAssertEqual(l.networks.count, 3)
        XCTAssertTrue(l.allows("192.0.2.200"))
        XCTAssertFalse(l.allows("192.0.3.1"))
        XCTAssertTrue(l.allows("198.51.100.7"))
        XCTAssertFalse(l.allows("198.51.100.8"))
        XCTAssertTrue(l.allows("2001:db8:1::5"))
        XCTAssertFalse(l.allows("2001:db9::1"))
        XCTAssertTrue(l.allows("::ffff:192.0.2.9"))
        XCTAssertFalse(l.allows("kein-ip"))
        XCTAssertTrue(try NetworkAllowList.parse("").allows("203.0.113.1"), "no list, no restriction")
        let odd = try NetworkAllowList.parse("10.1.2.3/20")
        XCTAssertTrue(odd.allows("10.1.15.255"))
        XCTAssertFalse(odd.allows("10.1.16.0"))
    }

    func testBadLinesAreNamed() {
        for (text, line) in [("192.0.2.0/33", 1), ("10.0.0.0/8\n300.1.1.1", 2), ("rathaus.example", 1), ("10.0.0/8", 1), ("2001:db8::/129", 1)] {
            XCTAssertThrowsError(try NetworkAllowList.parse(text), text) { e in
                XCTAssertEqual((e as? NetworkAllowList.ParseError)?.line, line, text)
            }
        }
    }
}
