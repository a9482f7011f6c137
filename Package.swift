// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "GIMExplorer",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "GIMEngine", targets: ["GIMEngine"]),
        .executable(name: "gim", targets: ["gim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        // C kernels the engine's hot loops need: a fork-join thread pool and AVX-512 matrix
        // kernels for the linear layers (chosen at run time; other CPUs use OpenBLAS).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // The engine: model formats, tokenizer, forward, GIM backward, explain. No terminal code.
        .target(
            name: "GIMEngine",
            dependencies: ["COpenBLAS", "CKernels"]
        ),
        // ncursesw (wide characters) for the explorer; the engine never links it.
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),
        // The terminal explorer: pure state, reducer and render, plus one ncurses surface.
        .target(
            name: "GIMExplorer",
            dependencies: ["GIMEngine", "CNcurses", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // The command-line interface.
        .executableTarget(
            name: "gim",
            dependencies: [
                "GIMEngine",
                "GIMExplorer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz targets (scripts/fuzz.sh builds them with libFuzzer; a normal build gives
        // regression runners that replay a corpus).
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        .executableTarget(name: "fuzz-gguf", dependencies: ["GIMEngine", "FuzzSupport"], path: "Sources/fuzz-gguf"),
        .executableTarget(name: "fuzz-tokenizer", dependencies: ["GIMEngine", "FuzzSupport"], path: "Sources/fuzz-tokenizer"),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["GIMEngine", "FuzzSupport"], path: "Sources/fuzz-safetensors"),
        .executableTarget(name: "fuzz-config", dependencies: ["GIMEngine", "FuzzSupport"], path: "Sources/fuzz-config"),
        .executableTarget(name: "fuzz-tokenizer-json", dependencies: ["GIMEngine", "FuzzSupport"], path: "Sources/fuzz-tokenizer-json"),
        .executableTarget(name: "fuzz-prompts", dependencies: ["GIMEngine", "FuzzSupport"], path: "Sources/fuzz-prompts"),
        .executableTarget(name: "fuzz-theme", dependencies: ["GIMExplorer", "FuzzSupport"], path: "Sources/fuzz-theme"),
        .executableTarget(name: "fuzz-input", dependencies: ["GIMExplorer", "FuzzSupport"], path: "Sources/fuzz-input"),
        .testTarget(
            name: "GIMEngineTests",
            dependencies: ["GIMEngine"],
            resources: [.copy("Fixtures")]
        ),
        // JSON Schemas of every --json output (schemas/), checked on real outputs of the gim binary.
        .testTarget(name: "GIMSchemaTests", dependencies: ["gim", "GIMExplorer", "GIMEngine"]),
        .testTarget(
            name: "GIMExplorerTests",
            dependencies: ["GIMExplorer", "GIMEngine"],
            exclude: ["Snapshots"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
