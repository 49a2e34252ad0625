import Foundation
import XCTest
@testable import XRechnung

/// The exact fast path must give Foundation's results bit for bit (the rules' messages print
/// these values, and later operations start from them).
final class ExactDecimalTests: XCTestCase {
    func bytes(_ d: Decimal) -> [UInt8] { withUnsafeBytes(of: d) { Array($0) } }

    func testStoredFormIsRecognised() {
        XCTAssertTrue(ExactDecimal.available, "Foundation's Decimal layout changed: the fast path is off (results stay right, only slower)")
    }

    func testAgreesWithFoundationOnRandomOperands() {
        var rng = SystemRandomNumberGenerator()
        func random() -> Decimal {
            let digits = Int.random(in: 0...19, using: &rng)
            var m: UInt64 = 0
            for _ in 0..<digits { m = m &* 10 &+ UInt64.random(in: 0...9, using: &rng) }
            if Bool.random(using: &rng) { m = m / 1000 * 1000 } // trailing zeros
            let e = Int.random(in: -8...4, using: &rng)
            let d = Decimal(sign: Bool.random(using: &rng) ? .minus : .plus, exponent: e, significand: Decimal(m))
            return d
        }
        var pool = (0..<400).map { _ in random() }
        pool += [0, 1, -1, Decimal(string: "0.00")!, Decimal(string: "1.50")!, Decimal(string: "-1.5")!, Decimal(string: "18446744073709551615")!, Decimal(string: "99999999999999999999999")!, .nan]
        var checked = 0
        for _ in 0..<20_000 {
            let a = pool.randomElement(using: &rng)!, b = Bool.random(using: &rng) ? a : pool.randomElement(using: &rng)!
            if a.isNaN || b.isNaN { continue }
            XCTAssertEqual(bytes(ExactDecimal.add(a, b)), bytes(a + b), "\(a) + \(b)")
            XCTAssertEqual(bytes(ExactDecimal.subtract(a, b)), bytes(a - b), "\(a) - \(b)")
            XCTAssertEqual(bytes(ExactDecimal.multiply(a, b)), bytes(a * b), "\(a) × \(b)")
            XCTAssertEqual(ExactDecimal.less(a, b), a < b, "\(a) < \(b)")
            XCTAssertEqual(ExactDecimal.equal(a, b), a == b, "\(a) == \(b)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 19_000)
    }

    func testSumsOfAmountsAsWritten() {
        let literals = ["19.99", "0.01", "-5.00", "1234567.89", "100", "0.5", "3464.98000", "-0.01"]
        let values = literals.compactMap { DecimalValue($0)?.value }
        var fast: Decimal?, slow: Decimal?
        for v in values {
            fast = fast.map { ExactDecimal.add($0, v) } ?? v
            slow = slow.map { $0 + v } ?? v
        }
        XCTAssertEqual(bytes(fast!), bytes(slow!))
        XCTAssertEqual("\(fast!)", "1238148.36")
    }
}

extension ExactDecimalTests {
    func testDifferenceBeyondSlackAsFoundationComputesIt() {
        let slack = Decimal(string: "0.02")!
        for (a, b) in [("10.00", "10.02"), ("10.00", "10.03"), ("-1.5", "-1.52"), ("-1.5", "-1.53"), ("0", "0.02"), ("0", "0.021"), ("7", "7")] {
            let x = Decimal(string: a)!, y = Decimal(string: b)!
            XCTAssertEqual(ExactDecimal.differ(x, y, byMoreThan: slack), abs(x - y) > slack, "\(a) vs \(b)")
            XCTAssertEqual(ExactDecimal.differ(y, x, byMoreThan: slack), abs(y - x) > slack, "\(b) vs \(a)")
        }
        XCTAssertEqual(withinOne(Decimal(string: "-19.00")!, of: Decimal(string: "18.01")!, strict: true), true)
        XCTAssertEqual(withinOne(Decimal(string: "19.00")!, of: Decimal(string: "18.00")!, strict: true), false)
        XCTAssertEqual(withinOne(Decimal(string: "19.00")!, of: Decimal(string: "18.00")!, strict: false), true)
    }
}
