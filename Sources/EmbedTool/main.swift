// Writes a Swift file declaring `EmbeddedFiles`: the exact bytes of each input file,
// base64-encoded (byte-exact, nothing to escape). Used by the EmbedFiles plugin.
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let outputPath = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedTool OUTPUT.swift [FILE ...]\n".utf8))
    exit(2)
}
var source = """
// Generated at build time by EmbedTool. Do not edit.
import Foundation

enum EmbeddedFiles {
    /// (file name, base64 of the file's bytes), sorted by name.
    static let base64: [(name: String, base64: String)] = [

"""
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let data = try Data(contentsOf: url)
    source += "        (\"\(url.lastPathComponent)\", \"\(data.base64EncodedString())\"),\n"
}
source += """
    ]

    /// The bytes of the embedded file `name`, or nil when no such file was embedded.
    static func data(named name: String) -> Data? {
        base64.first { $0.name == name }.flatMap { Data(base64Encoded: $0.base64) }
    }
}

"""
let output = URL(fileURLWithPath: outputPath)
if (try? String(contentsOf: output, encoding: .utf8)) != source {
    try source.write(to: output, atomically: true, encoding: .utf8)
}
