import ArgumentParser
import TelehubCore
import TelehubServer
import TelehubStore
import TelehubAuth

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create, list and revoke device, read and control tokens.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it (only the token) on stdout. It is shown this once.")

        @OptionGroup var store: StoreOptions
        @Option(help: "Create a device token for this device (the device is created if needed).")
        var device: String?
        @Flag(help: "Create a read token (dashboard and read API).")
        var read = false
        @Flag(help: "Create a control token: all a read token may do, and commands and desired state.")
        var control = false
        @Option(help: "A note to recognise the token by.")
        var label: String?
        @Option(help: "Lifetime such as 90s, 15m, 12h or 30d; no expiry when left out.")
        var expires: String?

        func validate() throws {
            guard [device != nil, read, control].filter({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --device NAME, --read or --control")
            }
            try Bounds.checkLabel(label)
            if let device, !NameRules.isValidDeviceName(device) {
                throw ValidationError("invalid device name \"\(device)\": 1 to 64 of letters, digits, '.', '_', '-', starting with a letter or digit")
            }
            if let expires {
                guard let span = SpanParser.milliseconds(expires) else {
                    throw ValidationError("invalid --expires \"\(expires)\": use a number and s, m, h or d, e.g. 30d")
                }
                guard span <= Self.longestLifetimeMs else {
                    throw ValidationError("--expires \(expires) is too long: at most 36500d (100 years); leave it out for no expiry")
                }
            }
        }

        /// 100 years: any later expiry is no expiry, and the sum with now cannot overflow.
        static let longestLifetimeMs: Int64 = 36_500 * 86_400_000

        func run() async throws {
            let expiresAt = expires.flatMap(SpanParser.milliseconds).map { EpochClock.nowMs() + $0 }
            let (secret, _) = try await store.open().mintToken(
                kind: device != nil ? .device : control ? .control : .read, device: device, label: label, expiresAt: expiresAt)
            print(secret.value)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")

        @OptionGroup var store: StoreOptions
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let tokens = try await store.open().tokens()
            if json {
                print(try Output.json(tokens))
                return
            }
            let rows = tokens.map { token in
                [
                    String(token.id), token.kind.rawValue, token.device ?? "-", token.label ?? "-",
                    Output.time(token.createdAt), Output.time(token.lastUsedAt), Output.time(token.expiresAt),
                    token.revoked ? "yes" : "no",
                ]
            }
            print(Output.table(["ID", "KIND", "DEVICE", "LABEL", "CREATED", "LAST USED", "EXPIRES", "REVOKED"], rows))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token; live connections that use it are closed.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "The token's id, as `token list` shows it.") var id: Int64

        func run() async throws {
            guard try await store.open().revokeToken(id: id) else { throw CLIError("no token with id \(id)") }
            print("revoked token \(id)")
        }
    }
}
