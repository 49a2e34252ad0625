// swift-tools-version:6.0
// An independent package that depends on Rathaus's XRechnung library by path, as any other
// Swift project would by URL. SwiftPM refuses dependencies whose targets use unsafe compiler
// flags; CI builds and runs this package to prove the library stays usable.
import PackageDescription

let package = Package(
    name: "ValidateInvoice",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Rathaus", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "ValidateInvoice", dependencies: [.product(name: "XRechnung", package: "Rathaus")]),
    ]
)
