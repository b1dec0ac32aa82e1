import Foundation
import Pipelines
import XCTest

/// Video items through a real pipeline: the soundtrack to transcribe, sampled frames to caption
/// (whisper-tiny.en and yolov3-tiny), both in one record, and a template that reads both.
final class VideoStageTests: XCTestCase {
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
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: pipeline.path), options: options)
        _ = try runner.run()
        let records = try ResultsLog.read(runner.resultsURL).records
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
}
