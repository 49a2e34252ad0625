// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Rathaus",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "rathaus", targets: ["rathaus"]),
        .executable(name: "xrechnung", targets: ["xrechnung"]),
        .library(name: "RathausCore", targets: ["RathausCore"]),
        .library(name: "Finder", targets: ["Finder"]),
        .library(name: "XRechnung", targets: ["XRechnung"]),
        .library(name: "Forms", targets: ["Forms"]),
        .library(name: "Documents", targets: ["Documents"]),
        .library(name: "Events", targets: ["Events"]),
        .library(name: "Funding", targets: ["Funding"]),
        .library(name: "Rollout", targets: ["Rollout"]),
        .library(name: "ISMS", targets: ["ISMS"]),
        .library(name: "Procurement", targets: ["Procurement"]),
        .library(name: "JOSE", targets: ["JOSE"]),
        .library(name: "FIM", targets: ["FIM"]),
        .library(name: "FITConnect", targets: ["FITConnect"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/leaf.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/leaf-kit.git", from: "1.14.3"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.2.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.21.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.8.0"..<"5.0.0"),
    ],
    targets: [
        // Pure domain value types: no Vapor, no I/O (CSV.swift reads and writes CSV).
        .target(name: "RathausCore", dependencies: [.product(name: "CSV", package: "CSV.swift")]),
        // Zuständigkeitsfinder: German search, places, responsibility resolution, opening hours (in memory).
        .target(name: "Finder", dependencies: ["RathausCore"], resources: [.copy("Resources")]),
        // Declarative forms of the online services: validation, conditions, repeating groups, fees. No Vapor.
        .target(name: "Forms", dependencies: ["RathausCore"]),
        // libxml2 (Debian: libxml2-dev) for well-formedness and XSD validation only.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // XRechnung / EN 16931: parse UBL and CII into one model, validate, render, generate. No Vapor.
        // zlib (Debian: zlib1g-dev) to inflate the XML embedded in ZUGFeRD/Factur-X PDFs.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // No unsafe compiler flags: other packages must be able to depend on the validator. The hot
        // stored properties of the element tree carry `@exclusivity(unchecked)` instead (~4 %).
        .target(name: "XRechnung", dependencies: ["RathausCore", "CLibXML2", "CZlib", "CBase64Scan"], resources: [.copy("Resources")]),
        // The base64 alphabet check of embedded attachments, 16 bytes at a time (plain C, no flags).
        .target(name: "CBase64Scan"),
        // The command line of the validator (validate, bench), shared by `rathaus xrechnung` and the
        // stand-alone `xrechnung` executable, which links nothing of the server.
        .target(name: "XRechnungTool", dependencies: ["XRechnung"]),
        // Official documents as PDF/A-2b (DIN 5008 letters, certificates with QR code, reports),
        // an embedded subset of a free font, deflate through zlib. No Vapor.
        .target(name: "Documents", dependencies: ["CZlib"], resources: [.copy("Resources")]),
        // Kompetenzzentrum: seats, quotas, waiting-list promotion, attendance, certificate codes,
        // iCalendar. No Vapor.
        .target(name: "Events"),
        // Förderprogramm: financing rules, the budget ledger (integer cents), settlement, the
        // application's state machine, four eyes, eligibility and ranking. No Vapor.
        .target(name: "Funding", dependencies: ["RathausCore"]),
        // Roll-out monitor: shares per capability and Kreis on plain rows, map projection, demand
        // signals with the privacy threshold, set-up tasks. No Vapor.
        .target(name: "Rollout"),
        // information security per municipality: catalogue model and import, status arithmetic,
        // inheritance of the provider's controls, progress (no Vapor)
        .target(name: "ISMS"),
        // procurement as a service: price schedules, call-off arithmetic in integer cents, approval
        // thresholds, the in-house rule, framework volume, price-sheet import (no Vapor)
        .target(name: "Procurement", dependencies: ["RathausCore"]),
        // JOSE as FIT-Connect and OpenID Connect use it: compact JWE (RSA-OAEP-256 + A256GCM), JWS
        // (PS512, RS256, ES256 …), JWK/JWKS, base64url — on swift-crypto, no Vapor.
        .target(name: "JOSE", dependencies: [
            "CZlib",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ]),
        // FIM XDatenfelder 2.0/3.0: strict reader, genericode code lists, the form of the form
        // engine, data instances of submissions. Uses the validator's safe XML reader. No Vapor.
        .target(name: "FIM", dependencies: ["Forms", "XRechnung"]),
        // FIT-Connect without transport: metadata 1.0.0, sealing and opening a submission (JWE +
        // SHA-512 hashes), Security Event Tokens, the Submission API version adapter. No Vapor.
        .target(name: "FITConnect", dependencies: [
            "JOSE",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ]),
        .executableTarget(name: "xrechnung", dependencies: ["XRechnungTool"]),
        .target(
            name: "App",
            dependencies: [
                "RathausCore",
                "Finder",
                "XRechnung",
                "Forms",
                "Documents",
                "Events",
                "Funding",
                "Rollout",
                "ISMS",
                "Procurement",
                "JOSE",
                "FIM",
                "FITConnect",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Leaf", package: "leaf"),
                .product(name: "LeafKit", package: "leaf-kit"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources")]
        ),
        .executableTarget(name: "rathaus", dependencies: ["App", "XRechnungTool"]),
        // Paths of the committed fixtures (Tests/Fixtures) and of the optional whole corpora.
        .target(name: "TestFixtures", path: "Tests/TestFixtures"),
        .testTarget(name: "RathausCoreTests", dependencies: ["RathausCore", "TestFixtures"]),
        .testTarget(name: "FinderTests", dependencies: ["Finder", "TestFixtures"]),
        .testTarget(name: "XRechnungTests", dependencies: ["XRechnung", "TestFixtures"]),
        .testTarget(name: "FormsTests", dependencies: ["Forms"]),
        .testTarget(name: "DocumentsTests", dependencies: ["Documents", "TestFixtures"]),
        .testTarget(name: "EventsTests", dependencies: ["Events", "TestFixtures"]),
        .testTarget(name: "FundingTests", dependencies: ["Funding"]),
        .testTarget(name: "RolloutTests", dependencies: ["Rollout"]),
        .testTarget(name: "ISMSTests", dependencies: ["ISMS"]),
        .testTarget(name: "ProcurementTests", dependencies: ["Procurement", "RathausCore"]),
        .testTarget(name: "FIMTests", dependencies: ["FIM", "Forms", "TestFixtures"]),
        .testTarget(name: "FITConnectTests", dependencies: [
            "FITConnect", "JOSE", "TestFixtures",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ], exclude: ["schemacheck.py"]),
        .testTarget(name: "JOSETests", dependencies: [
            "JOSE", "TestFixtures",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ]),
        .testTarget(
            name: "AppTests",
            dependencies: [
                "App",
                "JOSE",
                "TestFixtures",
                .product(name: "XCTVapor", package: "vapor"),
            ]
        ),
    ]
)
