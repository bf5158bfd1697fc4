// Build-tool plugin: embeds data files into a module as base64 string literals,
// so the binaries carry them (a copied binary still works) while the files in the
// repository stay the single source of truth.
//   Store:       <package>/migrations/*.sql and migrations/postgres/*.sql (named "postgres/...")
//   any other:   <target>/Resources/*
import Foundation
import PackagePlugin

@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let sourceTarget = target as? SourceModuleTarget else { return [] }
        let directory: URL
        if sourceTarget.name == "Store" {
            directory = context.package.directoryURL.appending(path: "migrations")
        } else {
            directory = sourceTarget.directoryURL.appending(path: "Resources")
        }
        // Files are named by their path under `directory`; folders are not embedded, but the
        // Store's migrations/postgres/ (PostgreSQL's dialect of the schema) is, one level down.
        func files(in folder: String) -> [String] {
            let url = folder.isEmpty ? directory : directory.appending(path: folder)
            return ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
                .filter { !$0.hasPrefix(".") }
                .map { folder.isEmpty ? $0 : folder + "/" + $0 }
                .filter { name in
                    var isDirectory: ObjCBool = false
                    return FileManager.default.fileExists(atPath: directory.appending(path: name).path, isDirectory: &isDirectory)
                        && !isDirectory.boolValue
                }
        }
        let names = (files(in: "") + (sourceTarget.name == "Store" ? files(in: "postgres") : [])).sorted()
        let inputs = names.map { directory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) file(s) into \(sourceTarget.name)",
                executable: try context.tool(named: "EmbedTool").url,
                arguments: [output.path, directory.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
