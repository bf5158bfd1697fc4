// Build-tool plugin: embeds data files into a module as base64 string literals,
// so the binaries carry them (a copied binary still works) while the files in the
// repository stay the single source of truth.
//   Store:       <package>/migrations/*.sql
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
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { !$0.hasPrefix(".") }
            .sorted()
        let inputs = names.map { directory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) file(s) into \(sourceTarget.name)",
                executable: try context.tool(named: "EmbedTool").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
