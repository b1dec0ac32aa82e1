// One static, self-contained HTML page from results: an overview with provenance, errors,
// question/answer tables, a contact sheet of images with their captions or tags, and
// transcripts with timestamps. No scripts, no external assets (images are inlined as data URIs).

import Foundation
import Models

public struct HTMLReport {
    public var title: String
    public var records: [ResultRecord]
    public var summary: RunSummary?
    /// Images larger than this are shown by name instead of inlined.
    public var maxInlineImageBytes: Int64 = 4_000_000

    public init(title: String, records: [ResultRecord], summary: RunSummary? = nil) {
        self.title = title; self.records = records; self.summary = summary
    }

    public func render() -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) — Hearth report</title>
            <style>\(Self.style)</style></head><body>
            <h1>\(escape(title))</h1>

            """
        html += overview()
        html += errors()
        html += questionsAndAnswers()
        html += contactSheet()
        html += transcripts()
        html += "<footer>Made by Hearth \(escape(Hearth.version)) from \(records.count) records.</footer>\n</body></html>\n"
        return html
    }

    /// Stage name → task, from the records' provenance.
    private var tasks: [String: String] {
        var out: [String: String] = [:]
        for record in records { for stage in record.provenance.stages { out[stage.name] = stage.provenance.task } }
        return out
    }

    private func stages(of task: String) -> [String] {
        var names: [String] = []
        for record in records {
            for stage in record.provenance.stages where stage.provenance.task == task && !names.contains(stage.name) {
                names.append(stage.name)
            }
        }
        return names
    }

    // MARK: Sections

    private func overview() -> String {
        let ok = records.filter { $0.status == .ok }.count
        let media = records.compactMap(\.mediaSeconds).reduce(0, +)
        var rows: [(String, String)] = [
            ("Items", "\(records.count)"), ("Succeeded", "\(ok)"), ("Failed", "\(records.count - ok)"),
        ]
        if media > 0 { rows.append(("Audio", duration(media))) }
        if let summary {
            rows.append(("This run", "\(summary.succeeded) done, \(summary.failed) failed, \(summary.skipped) skipped (already done)"))
        }
        let configurations = Set(records.map(\.configuration))
        rows.append(("Configuration", configurations.sorted().joined(separator: ", ")
                     + (configurations.count > 1 ? " (records come from different configurations)" : "")))
        var html = "<section><table class=\"facts\">"
        for (key, value) in rows { html += "<tr><th>\(escape(key))</th><td>\(escape(value))</td></tr>" }
        html += "</table>\n"
        var seen: Set<String> = []
        var models = "<h2>Models</h2><table><tr><th>Stage</th><th>Task</th><th>Model</th><th>Weights SHA-256</th><th>Options</th></tr>"
        for record in records {
            for stage in record.provenance.stages where seen.insert(stage.name + (stage.provenance.files?.description ?? "")).inserted {
                let p = stage.provenance
                let weights = p.files?.filter { ["model.bin", "model.safetensors"].contains($0.key) || $0.key.hasSuffix(".gguf") }
                    .map { "\($0.key): \($0.value)" }.sorted().joined(separator: "<br>") ?? ""
                models += "<tr><td>\(escape(stage.name))</td><td>\(escape(p.task))</td><td>\(escape(p.model ?? "—"))</td>"
                    + "<td class=\"hash\">\(weights.isEmpty ? "—" : weights)</td><td class=\"options\">\(escape(p.options.text ?? ""))</td></tr>"
            }
        }
        html += models + "</table></section>\n"
        return html
    }

    private func errors() -> String {
        let failed = records.filter { $0.status == .error }
        guard !failed.isEmpty else { return "" }
        var html = "<section><h2>Errors (\(failed.count))</h2><table><tr><th>Input</th><th>Stage</th><th>Message</th></tr>"
        for r in failed {
            html += "<tr class=\"error\"><td>\(escape(r.input))</td><td>\(escape(r.stage ?? ""))</td><td>\(escape(r.message ?? ""))</td></tr>"
        }
        return html + "</table></section>\n"
    }

    private func questionsAndAnswers() -> String {
        var html = ""
        for stage in stages(of: "ask") {
            let rows = records.filter { $0.results[stage] != nil }
            guard !rows.isEmpty else { continue }
            html += "<section><h2>Questions and answers: \(escape(stage))</h2><table><tr><th>Item</th><th>Question</th><th>Answer</th></tr>"
            for r in rows {
                let result = r.results[stage]!
                let question = r.fields?["question"] ?? result["prompt"]?.text ?? ""
                let answer = result["answer"]?.text ?? result["text"]?.text ?? ""
                html += "<tr><td>\(escape(r.input))</td><td>\(escape(question))</td><td>\(escape(answer))</td></tr>"
            }
            html += "</table></section>\n"
        }
        return html
    }

    private func contactSheet() -> String {
        let imageStages = tasks.filter { ["caption", "detect", "classify"].contains($0.value) }.keys.sorted()
        let images = records.filter { record in
            record.media.hasPrefix("image/") && imageStages.contains { record.results[$0] != nil }
        }
        guard !images.isEmpty else { return "" }
        var html = "<section><h2>Images (\(images.count))</h2><div class=\"sheet\">"
        for r in images {
            html += "<figure>" + inlineImage(r) + "<figcaption><b>\(escape(r.input))</b>"
            for stage in imageStages {
                guard let result = r.results[stage] else { continue }
                if let text = result["text"]?.text ?? result["caption"]?.text { html += "<p>\(escape(text))</p>" }
                let list: [JSONValue] = result["tags"]?.arrayValue ?? result["objects"]?.arrayValue ?? []
                let tags = list.compactMap { (tag: JSONValue) -> String? in tag.stringValue ?? tag["label"]?.text }
                if !tags.isEmpty { html += "<p class=\"tags\">" + tags.map { "<span>\(escape($0))</span>" }.joined() + "</p>" }
            }
            html += "</figcaption></figure>"
        }
        return html + "</div></section>\n"
    }

    private func inlineImage(_ r: ResultRecord) -> String {
        let inlineable = ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(r.media)
        guard inlineable, r.bytes <= maxInlineImageBytes, let data = FileManager.default.contents(atPath: r.path) else {
            return "<div class=\"noimage\">\(escape(URL(fileURLWithPath: r.input).lastPathComponent))</div>"
        }
        return "<img alt=\"\(escape(r.input))\" src=\"data:\(r.media);base64,\(data.base64EncodedString())\">"
    }

    private func transcripts() -> String {
        var html = ""
        for stage in stages(of: "transcribe") {
            let rows = records.filter { $0.results[stage] != nil }
            guard !rows.isEmpty else { continue }
            html += "<section><h2>Transcripts: \(escape(stage)) (\(rows.count))</h2>"
            for r in rows {
                let result = r.results[stage]!
                let seconds = result["duration"]?.doubleValue ?? r.mediaSeconds ?? 0
                let language = result["language"]?.text ?? ""
                html += "<details\(rows.count <= 20 ? " open" : "")><summary><b>\(escape(r.input))</b> · \(duration(seconds))"
                    + (language.isEmpty ? "" : " · \(escape(language))") + "</summary><table class=\"segments\">"
                for segment in result["segments"]?.arrayValue ?? [] {
                    let start = TranscriptDocument.timestamp(segment["start"]?.doubleValue ?? 0, comma: false)
                    let end = TranscriptDocument.timestamp(segment["end"]?.doubleValue ?? 0, comma: false)
                    let text = (segment["text"]?.text ?? "").trimmingCharacters(in: .whitespaces)
                    html += "<tr><td class=\"time\">\(start) → \(end)</td><td>\(escape(text))</td></tr>"
                }
                html += "</table></details>\n"
            }
            html += "</section>\n"
        }
        return html
    }

    static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
        h1{margin-bottom:.5rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
        table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #eee}
        table.facts{width:auto}table.facts th{padding-right:2rem}
        td.hash,td.options{font:12px monospace;word-break:break-all}td.time{font:13px monospace;white-space:nowrap;color:#666;width:14rem}
        tr.error td{background:#fff3f3}details{margin:.4rem 0;border:1px solid #eee;border-radius:6px;padding:.3rem .7rem}
        summary{cursor:pointer}.sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}
        figure{margin:0;border:1px solid #eee;border-radius:6px;overflow:hidden}figure img{width:100%;height:12rem;object-fit:cover;display:block}
        .noimage{height:12rem;display:flex;align-items:center;justify-content:center;background:#f4f4f4;color:#888}
        figcaption{padding:.4rem .6rem;font-size:14px}.tags span{display:inline-block;background:#eef;border-radius:4px;padding:0 .3rem;margin:.1rem}
        footer{margin-top:3rem;color:#888;font-size:13px}
        """
}

/// Text made safe for HTML element content and attribute values.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
