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
        let records = try #require(JSON.parse(Array(page.utf8))?["data"]?.array)
        let user = try #require(MixerUser(json: records[0]))
        let decoded = try JSONDecoder().decode(MixerUser.self, from: JSONSerialization.data(
            withJSONObject: (try JSONSerialization.jsonObject(with: Data(page.utf8)) as! [String: Any])["data"].map { ($0 as! [Any])[0] }!))
        #expect(user == decoded)
        #expect(user.fullName == "Ann \"A\" Leeé😀")
        #expect(user.brandPermissions.first?.brandName == "Brand A")
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "{\"a\":1}x", "\"unterminated", "{\"a\" 1}", "[\"\\q\"]", "nul"])
    func malformedIsNil(text: String) {
        #expect(JSON.parse(Array(text.utf8)) == nil)
    }
}
