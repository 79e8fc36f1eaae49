import Testing
import LifeboatCore
import LifeboatRepository

@Suite struct GoQuoteTests {
    /// RESTIC-V2-FORMAT.md §7.5: name bytes → JSON text in a restic 0.14 tree.
    static let observed: [([UInt8], String)] = [
        (Array(#"quote"back\slash.txt"#.utf8), #""quote\\\"back\\\\slash.txt""#),
        (Array("tab\there".utf8), #""tab\\there""#),
        (Array("bad".utf8) + [0xFF, 0xFE] + Array("name".utf8), #""bad\\xff\\xfename""#),
        (Array("ctl\u{1}x".utf8), #""ctl\\x01x""#),
        (Array("del\u{7f}x".utf8), #""del\\x7fx""#),
        (Array("nb\u{a0}sp".utf8), #""nb\\u00a0sp""#),
        (Array("a<b>&c.txt".utf8), #""a\u003cb\u003e\u0026c.txt""#),
        (Array("ünï ファイル.txt".utf8), "\"ünï ファイル.txt\""),
        (Array("emoji😀".utf8), "\"emoji😀\""),
        (Array("apos'x".utf8), #""apos'x""#),
    ]

    @Test(arguments: observed)
    func matchesResticTreeJSON(name: [UInt8], json: String) throws {
        var w = JSONWriter()
        w.string(GoQuote.quote(name))
        #expect(String(decoding: w.bytes, as: UTF8.self) == json)
        // And back: JSON-decode, then Go-unquote.
        let decoded = try #require(JSONValue(parsing: w.bytes).stringValue)
        #expect(try GoQuote.unquote(decoded) == name)
    }

    @Test(arguments: [
        ("\u{3000}", #"\u3000"#), ("\u{200B}", #"\u200b"#), ("\u{2028}", #"\u2028"#), ("\u{E0001}", #"\U000e0001"#),
        ("\u{F0000}", #"\U000f0000"#), ("\u{7}\u{8}\u{c}\n\r\t\u{b}", #"\a\b\f\n\r\t\v"#), ("\u{1b}", #"\x1b"#),
        ("\u{301}é", "\u{301}é"), ("\u{fffd}", "\u{fffd}"), ("", ""), (" ", " "),
    ])
    func quotesRunes(text: String, quoted: String) throws {
        #expect(GoQuote.quote(Array(text.utf8)) == quoted)
        #expect(try GoQuote.unquote(quoted) == Array(text.utf8))
    }

    @Test func quotesInvalidUTF8PerByte() {
        // Truncated sequence, surrogate encoding, overlong: every byte on its own.
        #expect(GoQuote.quote([0xE3, 0x81]) == #"\xe3\x81"#)
        #expect(GoQuote.quote([0xED, 0xA0, 0x80]) == #"\xed\xa0\x80"#)
        #expect(GoQuote.quote([0xC0, 0xAF, 0x41]) == #"\xc0\xafA"#)
        #expect(GoQuote.quote([0xE9, 0x74, 0xE9]) == #"\xe9t\xe9"#)
    }

    @Test func unquotesOctalAndOtherEscapes() throws {
        #expect(try GoQuote.unquote(#"\101\377\000"#) == [0x41, 0xFF, 0x00])
        #expect(try GoQuote.unquote(#"\'\"\\"#) == Array(#"'"\"#.utf8))
        #expect(try GoQuote.unquote(#"\xFF\u00E9"#) == [0xFF, 0xC3, 0xA9])
        #expect(try GoQuote.unquote("plain ü") == Array("plain ü".utf8))
    }

    @Test(arguments: [#"\"#, #"\q"#, #"\x4"#, #"\u12"#, #"\ud800"#, #"\U00110000"#, #"\400"#, #"\18"#, "a\"b", "a\nb"])
    func rejectsMalformed(text: String) {
        #expect(throws: LifeboatError.self) { try GoQuote.unquote(text) }
    }
}
