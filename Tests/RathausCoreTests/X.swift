import XCTest
@testable import RathausCore
final class CTests: XCTestCase { func testX() {} }
