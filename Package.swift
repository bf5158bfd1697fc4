// swift-tools-version:6.1
// Slope: train small neural networks by backprop and SGD, record every epoch in SQLite.
import PackageDescription

let package = Package(
    name: "Slope",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "runner", targets: ["Runner"]),
        .executable(name: "report", targets: ["Report"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .library(name: "Reporting", targets: ["Reporting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        // Not a new dependency: Hummingbird brings it; the dashboard names it because it imports
        // `Logging` to keep the server's own log quiet.
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
    ],
    targets: [
        // Hot loops (matrix products) in C: compiled at -O3 even in debug builds, with
        // AVX2/FMA code paths chosen at run time (see Sources/CKernels/kernels.c).
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        .target(name: "NeuralNet", dependencies: ["CKernels"]),
        // A VFS over SQLite's default one that writes each transaction's WAL frames with one
        // system call instead of two per frame (see Sources/CWALBuffer/wal_buffer.c).
        .target(
            name: "CWALBuffer",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .target(
            name: "Store",
            dependencies: [
                "CWALBuffer",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            plugins: ["EmbedFiles"]
        ),
        .target(
            name: "Experiments",
            dependencies: ["NeuralNet", "Store", .product(name: "Yams", package: "Yams")],
            exclude: ["Resources"],
            plugins: ["EmbedFiles"]
        ),
        .target(name: "Reporting", dependencies: ["NeuralNet", "Store"]),
        // The executables' own plumbing: writing standard output and error (and ending the process
        // when they cannot be written), --out files, the status line. Only Runner and Report import
        // it: the libraries never print.
        .target(name: "CLISupport", dependencies: ["Reporting", "Store"]),
        // The live web dashboard of `report serve`: routes, JSON API, and the page assets in
        // Sources/Dashboard/Resources (embedded at build time). Reads the store; never imports Experiments.
        .target(
            name: "Dashboard",
            dependencies: ["Store", "Reporting", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log")],
            exclude: ["Resources"],
            plugins: ["EmbedFiles"]
        ),
        .executableTarget(
            name: "Runner",
            dependencies: ["Experiments", "Reporting", "CLISupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "Report",
            dependencies: ["Reporting", "Experiments", "Dashboard", "CLISupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Build-time embedding of migrations/*.sql (Store) and Sources/<Target>/Resources/* (Experiments, Dashboard)
        // into the binaries, so a copied binary still works and the files stay the single source of truth.
        .executableTarget(name: "EmbedTool"),
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["EmbedTool"]),

        // Benchmark drivers (run by scripts/bench-*, release builds only).
        .executableTarget(name: "BenchTrain", dependencies: ["NeuralNet", "Experiments"], path: "Benchmarks/BenchTrain"),
        .executableTarget(name: "BenchStore", dependencies: ["Store"], path: "Benchmarks/BenchStore"),
        .executableTarget(name: "BenchSearch", dependencies: ["Experiments", "Store"], path: "Benchmarks/BenchSearch"),

        // A child process for the store's multi-process tests (concurrent opens, claims, kill -9).
        .executableTarget(name: "StoreProbe", dependencies: ["Store"], path: "Tests/StoreProbe"),
        // The same for the PostgreSQL store's tests (concurrent first opens of one database).
        .executableTarget(name: "PostgresProbe", dependencies: ["Store"], path: "Tests/PostgresProbe"),
        .target(name: "TestSupport", dependencies: ["NeuralNet", "Store", .product(name: "GRDB", package: "GRDB.swift")],
                path: "Tests/TestSupport"),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "CKernels", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "CWALBuffer", "StoreProbe", "PostgresProbe", "TestSupport",
                                                       .product(name: "GRDB", package: "GRDB.swift"),
                                                       .product(name: "PostgresNIO", package: "postgres-nio")]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "NeuralNet", "Store", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        // Experiments for its TensorRecords.parameters, which the Report executable hands to Reporting, and
        // for FilterParserTests' `AcceptedValues` (the numeric flags' rule the filters are compared with).
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "NeuralNet", "Store", "Experiments", "TestSupport"]),
        .testTarget(name: "DashboardTests", dependencies: [
            "Dashboard", "Reporting", "Store", "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "CLITests", dependencies: [
            "Runner", "Report", "Experiments", "Reporting", "CLISupport", "Store", "TestSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
