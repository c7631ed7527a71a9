import Reconcile
import Testing

/// Go's `time.ParseDuration`, which GoTrue applies to `ban_duration`.
@Suite struct GoDurationTests {
    @Test func parsesGosGrammar() throws {
        let cases: [(String, Double)] = [("876000h", 876_000.0 * 3600), ("1h30m", 5400), ("1.5h", 5400), (".5s", 0.5), ("0", 0),
                                         ("-2m", -120), ("300ms", 0.3), ("1h1m1s1ms1us1ns", 3661.001001001), ("5.s", 5)]
        for (text, seconds) in cases { #expect(abs(try GoDuration.parse(text) - seconds) < 1e-9, "\(text)") }
    }

    @Test func refusesWhatGoRefusesWithGosWords() {
        func error(_ text: String) -> String? {
            do { _ = try GoDuration.parse(text); return nil } catch { return error.description }
        }
        #expect(error("10d") == #"time: unknown unit "d" in duration "10d""#)
        #expect(error("5") == #"time: missing unit in duration "5""#)
        #expect(error("") == #"time: invalid duration """#)
        #expect(error(".h") == #"time: invalid duration ".h""#)
        #expect(error("3000000h") == #"time: invalid duration "3000000h""#)
    }
}
