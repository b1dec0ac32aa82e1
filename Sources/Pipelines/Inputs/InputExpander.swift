// `inputs` → items. Paths are files or folders (walked recursively), globs match relative to the
// pipeline file's folder (`*`, `?`, `[...]` within a name; `**` across folders), manifests list
// one item per CSV/TSV row or JSONL line. Folders and globs collect media files only.

import Foundation
import ModelStore
#if canImport(Glibc)
import Glibc
#endif

struct InputExpander {
    /// Folder of the pipeline file: relative paths start here.
    let base: URL
    /// The same folder as the user named it (the pipeline path's folder), for manifest messages.
    let displayBase: String
    /// Media kinds some stage reads; folder and glob walks keep these.
    let wanted: Set<MediaKind>
    /// Reports a problem at a coding path of the pipeline file.
    let report: (_ path: [CodingKey], _ message: String, _ isWarning: Bool) -> Void
    /// Reports a problem inside a manifest file.
    let reportManifest: (_ file: String, _ line: Int, _ message: String) -> Void

    /// An item before ids are checked and sidecar names chosen.
    struct Listed {
        var item: PipelineItem
        /// Path inside its input (folder, glob root, or the file name) for sidecar names.
        var relative: String
        /// Listed by a manifest (duplicates are errors) or by a path/glob (duplicates are dropped).
        var fromManifest: Bool
    }

    /// Items, and the field names inputs declare (manifest columns, `fields` keys) for template checks.
    func expand(_ inputs: [InputSpec], pipelineFile: String) -> (items: [PipelineItem], fields: Set<String>) {
        var listed: [Listed] = []
        var declared: Set<String> = []
        for (i, input) in inputs.enumerated() {
            declared.formUnion(input.fields?.keys.map { $0 } ?? [])
            let at: [CodingKey] = [AnyKey(stringValue: "inputs"), AnyKey(intValue: i)]
            let source = "\(pipelineFile) inputs[\(i)]"
            if let path = input.path {
                listed += expandPath(path, fields: input.fields ?? [:], at: at + [AnyKey(stringValue: "path")], source: source)
            } else if let glob = input.glob {
                let found = expandGlob(glob, fields: input.fields ?? [:], source: source)
                if found.isEmpty { report(at + [AnyKey(stringValue: "glob")], "'\(glob)' matches no media files", true) }
                listed += found
            } else if let manifest = input.manifest {
                let (rows, columns) = expandManifest(manifest, input: input, at: at + [AnyKey(stringValue: "manifest")])
                listed += rows
                declared.formUnion(columns)
            }
        }
        return (finish(listed), declared)
    }

    // MARK: Paths and globs

    func expandPath(_ written: String, fields: [String: String], at: [CodingKey], source: String) -> [Listed] {
        let absolute = absolutePath(written, relativeTo: base)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            report(at, "no such file or folder: \(absolute)", false)
            return []
        }
        if !isDirectory.boolValue {
            let name = URL(fileURLWithPath: absolute).lastPathComponent
            return [listed(absolute: absolute, input: clean(written), relative: name, fields: fields, source: source)]
        }
        let found = walk(absolute, depth: nil).compactMap { relative -> Listed? in
            let file = absolute + "/" + relative
            guard isWantedMedia(file) else { return nil }
            return listed(absolute: file, input: join(written, relative), relative: relative, fields: fields, source: source)
        }
        if found.isEmpty { report(at, "folder \(absolute) holds no \(wantedDescription) files", true) }
        return found
    }

    func expandGlob(_ pattern: String, fields: [String: String], source: String) -> [Listed] {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let firstWild = parts.firstIndex { $0.contains(where: { "*?[".contains($0) }) } ?? parts.count
        let prefix = (pattern.hasPrefix("/") ? "/" : "") + parts[..<firstWild].joined(separator: "/")
        let rest = Array(parts[firstWild...])
        let root = absolutePath(prefix.isEmpty ? "." : prefix, relativeTo: base)
        let depth = rest.contains("**") ? nil : rest.count
        return walk(root, depth: depth).compactMap { relative -> Listed? in
            let components = relative.split(separator: "/").map(String.init)
            guard globMatch(rest[...], components[...]) else { return nil }
            let file = root + "/" + relative
            guard isWantedMedia(file) else { return nil }
            return listed(absolute: file, input: join(prefix, relative), relative: relative, fields: fields, source: source)
        }
    }

    /// Media files of a wanted kind, and files named like one whose content is not recognised
    /// (so a corrupt `.wav` becomes an error record rather than vanishing).
    func isWantedMedia(_ file: String) -> Bool {
        let type = MediaType.sniff(path: file)
        if type.kind != .unknown { return wanted.contains(type.kind) }
        return wanted.contains(MediaType.kind(forExtension: URL(fileURLWithPath: file).pathExtension))
    }

    var wantedDescription: String { wanted.map(\.rawValue).sorted().joined(separator: " or ") }

    func listed(absolute: String, input: String, relative: String, fields: [String: String], source: String,
                id: String? = nil, fromManifest: Bool = false) -> Listed {
        let bytes = FileSystem.size(atPath: absolute) ?? 0
        let item = PipelineItem(id: id ?? input, input: input, path: absolute, media: MediaType.sniff(path: absolute),
                                bytes: bytes, fields: fields, index: 0, sidecarName: relative, source: source)
        return Listed(item: item, relative: relative, fromManifest: fromManifest)
    }

    // MARK: Manifests

    /// The manifest's items and its field names (columns other than path and id).
    func expandManifest(_ written: String, input: InputSpec, at: [CodingKey]) -> ([Listed], Set<String>) {
        let absolute = absolutePath(written, relativeTo: base)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            report(at, "cannot read manifest \(absolute)", false)
            return ([], [])
        }
        let text = String(decoding: data, as: UTF8.self)
        let format = input.format ?? {
            switch URL(fileURLWithPath: written).pathExtension.lowercased() {
            case "jsonl", "ndjson": return "jsonl"
            case "tsv", "tab": return "tsv"
            default: return "csv"
            }
        }()
        let pathField = input.pathField ?? "path", idField = input.idField ?? "id"
        let rows: [(line: Int, fields: [String: String])]
        do {
            rows = try format == "jsonl" ? Manifest.jsonLines(text) : Manifest.csv(text, separator: format == "tsv" ? "\t" : ",")
        } catch let error as Manifest.ParseError {
            reportManifest(join(displayBase, written), error.line, error.message)
            return ([], [])
        } catch {
            report(at, "\(error)", false)
            return ([], [])
        }
        let columns = Set(rows.flatMap(\.fields.keys)).subtracting([pathField, idField])
        if rows.isEmpty { report(at, "manifest \(written) lists no items", true) }
        let folder = URL(fileURLWithPath: absolute).deletingLastPathComponent()
        let writtenFolder = (clean(written) as NSString).deletingLastPathComponent
        var out: [Listed] = []
        for (line, row) in rows {
            guard let path = row[pathField], !path.isEmpty else {
                reportManifest(join(displayBase, written), line, "no '\(pathField)' value (columns: \(row.keys.sorted().joined(separator: ", ")))")
                continue
            }
            let file = absolutePath(path, relativeTo: folder)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue else {
                reportManifest(join(displayBase, written), line, isDirectory.boolValue ? "\(path) is a folder; manifests list files" : "no such file: \(file)")
                continue
            }
            var fields = input.fields ?? [:]
            for (key, value) in row where key != pathField && key != idField { fields[key] = value }
            let id = row[idField].flatMap { $0.isEmpty ? nil : $0 }
            let shown = path.hasPrefix("/") || path.hasPrefix("~") ? path : join(writtenFolder, path)
            let relative = id ?? URL(fileURLWithPath: file).lastPathComponent
            out.append(listed(absolute: file, input: shown, relative: relative, fields: fields,
                              source: "\(clean(written)):\(line)", id: id, fromManifest: true))
        }
        return (out, columns)
    }

    // MARK: Ids, order, sidecar names

    /// Drops repeated paths, refuses repeated manifest ids, numbers items, picks sidecar names.
    func finish(_ listed: [Listed]) -> [PipelineItem] {
        var seen: [String: Listed] = [:]
        var kept: [Listed] = []
        for entry in listed {
            if let first = seen[entry.item.id] {
                if entry.fromManifest || first.fromManifest {
                    reportManifestOrPipeline(entry, "item id '\(entry.item.id)' is listed twice (\(first.item.source) and "
                                             + "\(entry.item.source)); give manifest rows distinct ids")
                } else {
                    report([AnyKey(stringValue: "inputs")], "\(entry.item.input) is listed twice (\(first.item.source) and "
                           + "\(entry.item.source)); it is processed once", true)
                }
                continue
            }
            seen[entry.item.id] = entry
            kept.append(entry)
        }
        let names = sidecarNames(kept.map(\.relative))
        return kept.enumerated().map { i, entry in
            var item = entry.item
            item.index = i
            item.sidecarName = names[i]
            return item
        }
    }

    private func reportManifestOrPipeline(_ entry: Listed, _ message: String) {
        let source = entry.item.source
        if entry.fromManifest, let colon = source.lastIndex(of: ":"), let line = Int(source[source.index(after: colon)...]) {
            reportManifest(join(displayBase, String(source[..<colon])), line, message)
        } else {
            report([AnyKey(stringValue: "inputs")], message, false)
        }
    }
}

/// Sidecar base names: the relative path without extension; with the extension where two items
/// share a stem (jfk.wav, jfk.mp3); then `-2`, `-3` for any remaining clash. No `..`, no leading `/`.
func sidecarNames(_ relatives: [String]) -> [String] {
    let safe = relatives.map { path in
        path.split(separator: "/").filter { $0 != ".." && $0 != "." }.joined(separator: "/")
    }
    let stems = safe.map { ($0 as NSString).deletingPathExtension }
    var stemCounts: [String: Int] = [:]
    for s in stems { stemCounts[s, default: 0] += 1 }
    var used: [String: Int] = [:]
    return safe.indices.map { i in
        let name = stemCounts[stems[i]]! > 1 ? safe[i] : stems[i]
        used[name, default: 0] += 1
        return used[name]! > 1 ? "\(name)-\(used[name]!)" : name
    }
}

/// `~` expanded; relative paths resolved against `base`; `.` and `..` collapsed.
func absolutePath(_ path: String, relativeTo base: URL) -> String {
    let expanded = FileSystem.expandingTilde(path)
    let url = expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : base.appendingPathComponent(expanded)
    return url.standardizedFileURL.path
}

/// A written path tidied: no `./` segments, `name/..` collapsed, no repeated or trailing slashes.
func clean(_ path: String) -> String {
    let absolute = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/") where part != "." {
        if part == "..", let last = parts.last, last != ".." { parts.removeLast() } else { parts.append(part) }
    }
    let joined = parts.joined(separator: "/")
    return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
}

func join(_ folder: String, _ relative: String) -> String {
    if relative.hasPrefix("/") { return clean(relative) }
    let f = clean(folder)
    return f == "." ? clean(relative) : clean(f + "/" + relative)
}

/// Regular files under `root`, as sorted relative paths; hidden names skipped, folder symlinks
/// not followed (no cycles), `depth` limits how many levels are read (1 = `root` itself).
/// A symbolic link that leads nowhere (dangling, or a loop) is listed like a file, so a name that
/// looks like media gets an error record instead of vanishing; so is a name that is not UTF-8 (shown
/// with U+FFFD, it cannot be opened by that name, and its record says so).
func walk(_ root: String, depth: Int?) -> [String] {
    var out: [String] = []
    func visit(_ folder: String, _ prefix: String, _ level: Int) {
        for name in directoryNames(folder).sorted() where !name.hasPrefix(".") {
            let path = folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else {
                if name.contains("\u{FFFD}") { out.append(prefix + name) }   // a name that is not UTF-8
                continue
            }
            var mode = info.st_mode & S_IFMT
            if mode == S_IFLNK {
                guard stat(path, &info) == 0 else { out.append(prefix + name); continue }
                mode = info.st_mode & S_IFMT
                if mode == S_IFDIR { continue }
            }
            if mode == S_IFREG {
                out.append(prefix + name)
            } else if mode == S_IFDIR, depth.map({ level < $0 }) ?? true {
                visit(path, prefix + name + "/", level + 1)
            }
        }
    }
    visit(root, "", 1)
    return out.sorted()
}

/// The entries of `folder` (readdir, so no name is dropped: bytes that are not UTF-8 become U+FFFD).
func directoryNames(_ folder: String) -> [String] {
    guard let dir = opendir(folder) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Matches path components against glob components (`**` spans zero or more folders).
func globMatch(_ pattern: ArraySlice<String>, _ components: ArraySlice<String>) -> Bool {
    guard let first = pattern.first else { return components.isEmpty }
    if first == "**" {
        for skip in 0...components.count where globMatch(pattern.dropFirst(), components.dropFirst(skip)) { return true }
        return false
    }
    guard let component = components.first, fnmatch(first, component, FNM_PERIOD) == 0 else { return false }
    return globMatch(pattern.dropFirst(), components.dropFirst())
}
