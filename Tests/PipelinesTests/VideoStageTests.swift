import Foundation
import Pipelines
import TestSupport
import XCTest

/// Video items through a real pipeline: the soundtrack to transcribe, sampled frames to caption
/// (whisper-tiny.en and yolov3-tiny), both in one record, and a template that reads both.
final class VideoStageTests: XCTestCase {
    /// Runs the pipeline file in-process, quietly; its records.
    func run(_ pipeline: URL) throws -> [ResultRecord] {
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: pipeline.path), options: options)
        _ = try runner.run()
        return try ResultsLog.read(runner.resultsURL).records
    }

    func testVideoIsTranscribedAndItsFramesCaptioned() throws {
        try Fixtures.requireModel()
        let folder = try Fixtures.temporaryFolder(self)
        let media = folder.appendingPathComponent("media")
        for name in ["slideshow.mp4", "rotated.mp4", "video_only.mp4", "jfk.m4a"] {
            try Fixtures.copy(try Fixtures.testClip("containers/" + name), into: media)
        }
        for name in ["dog.jpg", "horses.jpg", "person.jpg"] { try Fixtures.copy(Fixtures.sample(name), into: media) }
        let pipeline = try Fixtures.write("""
            inputs: [media]
            stages:
              - task: transcribe
                options: {beam_size: 1}
              - task: caption
                options: {frame_interval: 4}
            outputs: {directory: out, sidecars: [txt], report: report.html}
            """, to: folder.appendingPathComponent("p.yaml"))
        let records = try run(pipeline)
        XCTAssertEqual(records.count, 7, "one record per file")
        let byName = Dictionary(uniqueKeysWithValues: records.map { (URL(fileURLWithPath: $0.id).lastPathComponent, $0) })
        func caption(_ name: String) -> String? { byName[name]?.results["caption"]?["text"]?.stringValue }

        // The slideshow shows the three photos 4 s each: frames at 0, 4 and 8 s caption as the photos do.
        let slideshow = try XCTUnwrap(byName["slideshow.mp4"])
        XCTAssertEqual(slideshow.status, .ok, slideshow.message ?? "")
        XCTAssertEqual(slideshow.media, "video/mp4")
        XCTAssertTrue(slideshow.results["transcribe"]?["text"]?.stringValue?.contains("ask not what your country") ?? false)
        let frames = try XCTUnwrap(slideshow.results["caption"]?["frames"]?.arrayValue)
        XCTAssertEqual(frames.map { $0["time"]?.doubleValue }, [0, 4, 8])
        XCTAssertEqual(frames.map { $0["text"]?.stringValue }, [caption("dog.jpg"), caption("horses.jpg"), caption("person.jpg")])
        XCTAssertEqual(caption("slideshow.mp4"), "[0:00] \(caption("dog.jpg")!)\n[0:04] \(caption("horses.jpg")!)\n[0:08] \(caption("person.jpg")!)")
        XCTAssertEqual(slideshow.results["caption"]?["width"], .int(480))

        // A 90° display rotation: frames come upright (portrait), the same three scenes.
        let rotated = try XCTUnwrap(byName["rotated.mp4"]?.results["caption"])
        XCTAssertEqual(rotated["width"], .int(360))
        XCTAssertEqual(rotated["height"], .int(480))
        XCTAssertEqual(rotated["frames"]?.arrayValue?.count, 3)

        // Audio only: transcribed, not captioned. Video without audio: a clear error record.
        XCTAssertNotNil(byName["jfk.m4a"]?.results["transcribe"])
        XCTAssertNil(byName["jfk.m4a"]?.results["caption"])
        XCTAssertEqual(byName["video_only.mp4"]?.status, .error)
        XCTAssertTrue(byName["video_only.mp4"]?.message?.contains("has no audio stream (video only)") ?? false)

        // Sidecar and report.
        let sidecar = try String(contentsOf: folder.appendingPathComponent("out/slideshow.caption.txt"), encoding: .utf8)
        XCTAssertTrue(sidecar.hasPrefix("[0:00] "), sidecar)
        let report = try String(contentsOf: folder.appendingPathComponent("out/report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("Videos (2)"), "report has a video section")
        XCTAssertEqual(report.components(separatedBy: "class=\"frame\"").count - 1, 6, "3 frame thumbnails per video")
    }

    /// Issue 14's "done when": one folder with every audio, video and image format Hearth reads runs
    /// through one transcribe + caption pipeline with one ok record per file, each with the stage
    /// results its kind calls for.
    func testAFolderMixingEveryFormat() throws {
        try Fixtures.requireModel()
        let folder = try Fixtures.temporaryFolder(self)
        let media = folder.appendingPathComponent("media")
        let audio = ["jfk.flac", "jfk.m4a", "jfk.webm", "jfk.mkv", "jfk.wma", "jfk_stereo.mov"]
        let videos = ["jfk_video.mp4", "slideshow.mp4"]
        for name in audio + videos { try Fixtures.copy(try Fixtures.testClip("containers/" + name), into: media) }
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: media)
        try Fixtures.copy(Fixtures.sample("jfk.mp3"), into: media)
        let formats = TestPaths.packageRoot.appendingPathComponent("Tests/MediaTests/Fixtures/formats")
        let images = ["lossy.webp", "rgb16.tif", "cmyk8.tif", "palette.gif", "rgb24.bmp", "orientation6.heic", "orientation6.avif"]
        for name in images { try Fixtures.copy(formats.appendingPathComponent(name).path, into: media) }
        try Fixtures.copy(Fixtures.sample("dog.jpg"), into: media)
        try Fixtures.copy(Fixtures.sample("chelsea.png"), into: media)
        let pipeline = try Fixtures.write("""
            inputs: [media]
            stages:
              - task: transcribe
                options: {beam_size: 1}
              - task: caption
            outputs: {directory: out}
            """, to: folder.appendingPathComponent("p.yaml"))
        let records = try run(pipeline)
        let expected = audio.count + videos.count + 2 + images.count + 2
        XCTAssertEqual(records.count, expected, "one record per file")
        XCTAssertEqual(Set(records.map(\.id)).count, expected)
        for record in records {
            let name = URL(fileURLWithPath: record.id).lastPathComponent
            XCTAssertEqual(record.status, .ok, "\(name): \(record.message ?? "")")
            let kind = MediaType(record.media).kind
            XCTAssertEqual(record.results["transcribe"] != nil, kind != .image, "\(name) (\(record.media)) transcribed?")
            XCTAssertEqual(record.results["caption"] != nil, kind != .audio, "\(name) (\(record.media)) captioned?")
            if kind == .video { XCTAssertNotNil(record.results["caption"]?["frames"]?.arrayValue, name) }
        }
        print("mixed folder: \(records.count) records, media types \(Set(records.map(\.media)).sorted())")
    }
}
