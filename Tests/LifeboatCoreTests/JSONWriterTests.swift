import Testing
import LifeboatCore

@Suite struct JSONWriterTests {
    private func written(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        body(&w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    @Test func escapesLikeGo() {
        let text = written { $0.string("q\"b\\n\nr\rt\tc\u{1}b\u{8}f\u{c}d\u{7f}<>&\u{2028}\u{2029}é😀/'") }
        #expect(text == #""q\"b\\n\nr\rt\tc\u0001b\u0008f\u000cd"# + "\u{7f}" + #"\u003c\u003e\u0026\u2028\u2029é😀/'""#)
    }

    @Test func replacesInvalidUTF8ByteByByte() {
        // FF, a lone C3, a surrogate (ED A0 80) and an overlong (C0 AF): each byte → \ufffd.
        let text = written { $0.string(utf8: [0x61, 0xFF, 0xC3, 0x62, 0xED, 0xA0, 0x80, 0xC0, 0xAF]) }
        #expect(text == #""a\ufffd\ufffdb\ufffd\ufffd\ufffd\ufffd\ufffd""#)
    }

    @Test func structureAndScalars() {
        let text = written { w in
            w.beginObject()
            w.key("a"); w.number(UInt64.max)
            w.key("b"); w.number(Int64.min)
            w.key("c"); w.beginArray(); w.number(0); w.bool(true); w.bool(false); w.null(); w.endArray()
            w.key("d"); w.beginObject(); w.endObject()
            w.key("e"); w.base64([1, 2, 3, 4])
            w.key("f"); w.id(ID(w0: 0x0123_4567_89ab_cdef, w1: 0, w2: 0, w3: 0xff))
            w.key("g"); w.beginArray(); w.beginObject(); w.endObject(); w.beginArray(); w.endArray(); w.endArray()
            w.key("h\u{1}"); w.number(Int32(-5))
            w.endObject()
            w.newline()
        }
        #expect(text == #"{"a":18446744073709551615,"b":-9223372036854775808,"c":[0,true,false,null],"d":{},"e":"AQIDBA==","f":"0123456789abcdef0000000000000000000000000000000000000000000000ff","g":[{},[]],"h\u0001":-5}"# + "\n")
    }

    @Test func writesTimestamps() {
        let text = written { w in
            w.beginArray()
            w.timestamp(Timestamp(seconds: 1_704_103_200))
            w.timestamp(Timestamp(seconds: 1_704_279_600, nanoseconds: 500_000_000, utcOffset: 3600))
            w.endArray()
        }
        #expect(text == #"["2024-01-01T10:00:00Z","2024-01-03T12:00:00.5+01:00"]"#)
    }
}
