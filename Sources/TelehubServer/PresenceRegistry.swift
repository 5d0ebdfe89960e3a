import TelehubCore

/// Which devices have a live session. A device is online while at least one
/// of its sessions is open; every change is published on the live stream.
public actor PresenceRegistry {
    private var sessions: [String: Int] = [:]
    private let hub: LiveHub

    init(hub: LiveHub) {
        self.hub = hub
    }

    func connected(_ device: String) async {
        sessions[device, default: 0] += 1
        if sessions[device] == 1 {
            await hub.publishPresence(device: device, online: true, at: EpochClock.nowMs())
        }
    }

    func disconnected(_ device: String) async {
        guard let count = sessions[device] else { return }
        sessions[device] = count > 1 ? count - 1 : nil
        if count == 1 {
            await hub.publishPresence(device: device, online: false, at: EpochClock.nowMs())
        }
    }

    public func onlineDevices() -> Set<String> {
        Set(sessions.keys)
    }
}
