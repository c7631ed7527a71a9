import Foundation
import Testing
@testable import MixerAI

@Suite struct JSONReaderTests {
    @Test func readsAListPageLikeJSONDecoder() throws {
        let page = #"""
        {"success":true,"data":[{"id":"u1","email":"Ann@x.com","full_name":"Ann \"A\" Lee\u00e9\ud83d\ude00","job_title":"",
         "company":null,"role":"Editor","global_role":null,"created_at":"2026-01-01T00:00:00Z","last_sign_in_at":null,
         "brand_permissions":[{"user_id":"u1","brand_id":"b1","role":"editor","brand":{"id":"b1","name":"Brand A"}}],
         "user_status":"active","is_current_user":false,"extra":[1,2.5e3,-4,true,{}]}],"pagination":{"page":1}}
        """#
        let user = try #require(MixerAIClient.decodePage(Data(page.utf8))?.first)
        let decoded = try JSONDecoder().decode(MixerUser.self, from: JSONSerialization.data(
            withJSONObject: (try JSONSerialization.jsonObject(with: Data(page.utf8)) as! [String: Any])["data"].map { ($0 as! [Any])[0] }!))
        #expect(user == decoded)
        #expect(user.fullName == "Ann \"A\" Leeé😀")
        #expect(user.brandPermissions.first?.brandName == "Brand A")
    }

    @Test func theFirstOfARepeatedKeyCountsAndOtherTypesReadAsAbsent() throws {
        let page = #"""
        {"data":[{"id":"u1","email":"first@x.com","email":"second@x.com","full_name":7,"r\u006fle":"Admin",
         "brand_permissions":[{"role":"editor"},{"brand_id":"b2","brand":{"name":"B","name":"C"}},3]}],"data":[]}
        """#
        let users = try #require(MixerAIClient.decodePage(Data(page.utf8)))
        #expect(users.count == 1, "the first data counts")
        #expect(users[0].email == "first@x.com")
        #expect(users[0].fullName == nil)
        #expect(users[0].role == "Admin", "an escaped key is the same key")
        #expect(users[0].brandPermissions == [.init(brandId: "b2", role: "viewer", brandName: "B")])
    }

    @Test(arguments: ["", "{", "{\"data\":}", "{\"data\":[1,]}", "{\"data\":[]}x", "\"unterminated", "{\"data\" []}",
                      "{\"data\":[],\"x\":[\"\\q\"]}", "nul", "{\"data\":{}}", "{\"data\":[{\"email\":\"a\"}]}",
                      "{\"data\":[{\"id\":null}]}", "{\"data\":[{\"id\":\"u\",\"x\":1e}]}", "[]",
                      "{\"data\":[{\"id\":\"u\",\"x\":\"\u{1}\"}]}"])
    func malformedIsNil(text: String) {
        #expect(MixerAIClient.decodePage(Data(text.utf8)) == nil)
    }

    @Test func aPageWithoutDataIsNilAndAnEmptyOneIsEmpty() {
        #expect(MixerAIClient.decodePage(Data(#"{"success":true}"#.utf8)) == nil)
        #expect(MixerAIClient.decodePage(Data(#" {"data":[] , "pagination":{"total":0}} "#.utf8)) == [])
    }
}
