import XCTest
import XCTVapor
@testable import App
final class XTests: XCTestCase { func testX() {} }
