// SHA-256 against the FIPS 180-4 test vectors and the shipped digits file's published sum.
import XCTest
@testable import Experiments

final class SHA256Tests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hexDigest([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hexDigest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testPaddingBoundaries() {
        // 55, 56 and 64 bytes straddle the one-or-two-block padding decision.
        XCTAssertEqual(SHA256.hexDigest([UInt8](repeating: 0x61, count: 55)), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        XCTAssertEqual(SHA256.hexDigest([UInt8](repeating: 0x61, count: 56)), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        XCTAssertEqual(SHA256.hexDigest([UInt8](repeating: 0x61, count: 64)), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }

    func testEmbeddedDigitsMatchesTheSharedFile() throws {
        // /work/shared/data/SHA256SUMS lists this sum for digits.csv (byte-identical copy).
        let loaded = try DataCatalog.load("digits")
        XCTAssertEqual(loaded.sha256, "1f032e0ac937571bd4ec5b2887bfe9b0efc1ada37040f21a02a34ea7da7dcf05")
        XCTAssertEqual(loaded.dataset.rowCount, 1797)
        XCTAssertEqual(loaded.dataset.featureCount, 64)
        guard case let .labels(labels, classCount) = loaded.dataset.targets else { return XCTFail("digits are classes") }
        XCTAssertEqual(classCount, 10)
        XCTAssertEqual(Set(labels), Set(0..<10))
        XCTAssertEqual(loaded.dataset.features.min(), 0)
        XCTAssertEqual(loaded.dataset.features.max(), 1)
    }
}
