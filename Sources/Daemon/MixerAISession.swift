import Config
import CurlHTTP
import Foundation
import MixerAI
import Secrets

/// The client's connection from the `[mixerai]` settings; secrets are read from their files at this moment.
public enum MixerAISession {
    public static func connection(_ s: MixerAISettings, stateDirectory: String) throws -> MixerAIConnection {
        let anonKey = try s.supabaseAnonKey.map { Secret(bytes: Array($0.utf8)) } ?? SecretFile.read(s.supabaseAnonKeyFile!)
        let password = try SecretFile.read(s.servicePasswordFile)
        let jar = FileManager.default.isWritableFile(atPath: stateDirectory) ? stateDirectory + "/mixerai-cookies.txt" : nil
        return MixerAIConnection(baseURL: s.url, supabaseURL: s.supabaseURL, anonKey: anonKey, projectRef: s.supabaseProjectRef,
                                 serviceEmail: s.serviceEmail, servicePassword: password,
                                 transport: CurlOptions(caFile: s.caFile, caDirectory: s.caDirectory,
                                                        clientCertificateFile: s.clientCertificateFile,
                                                        clientKeyFile: s.clientKeyFile,
                                                        connectTimeout: min(.seconds(10), s.timeout), totalTimeout: s.timeout,
                                                        cookieJar: jar))
    }
}
