// Writes a Swift file declaring `EmbeddedFiles`: the exact bytes of each input file,
// base64-encoded (byte-exact, nothing to escape), named by its path under BASE
// ("0001_initial.sql", "postgres/0001_initial.sql"). Used by the EmbedFiles plugin.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: EmbedTool OUTPUT.swift BASE [FILE ...]\n".utf8))
    exit(2)
}
let outputPath = arguments[0]
let base = URL(fileURLWithPath: arguments[1]).standardizedFileURL.path + "/"
var source = """
// Generated at build time by EmbedTool. Do not edit.
import Foundation

enum EmbeddedFiles {
    /// (file name, base64 of the file's bytes), sorted by name.
    static let base64: [(name: String, base64: String)] = [

"""
for path in arguments.dropFirst(2) {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    let data = try Data(contentsOf: url)
    let name = url.path.hasPrefix(base) ? String(url.path.dropFirst(base.count)) : url.lastPathComponent
    source += "        (\"\(name)\", \"\(data.base64EncodedString())\"),\n"
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
