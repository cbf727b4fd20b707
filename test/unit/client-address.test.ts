import { describe, expect, it } from "vitest";
import { addressKey, UNKNOWN_ADDRESS } from "../../src/auth/client-address";

describe("addressKey", () => {
  it.each([
    ["an IPv4 address", "203.0.113.7", "203.0.113.7"],
    ["an IPv4 address with padding", " 203.0.113.7 ", "203.0.113.7"],
    ["a full IPv6 address", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["an upper-case IPv6 address with ::", "2001:DB8:1:2::AB", "2001:db8:1:2::/64"],
    ["an IPv6 address with leading zeros", "2001:0db8:0001:0002:ffff::1", "2001:db8:1:2::/64"],
    ["another /64", "2001:db8:1:3::1", "2001:db8:1:3::/64"],
    [":: inside the prefix", "2001:db8::1", "2001:db8:0:0::/64"],
    [":: standing for one group", "1:2:3:4:5:6:7::", "1:2:3:4::/64"],
    ["loopback", "::1", "0:0:0:0::/64"],
    ["the unspecified address", "::", "0:0:0:0::/64"],
    ["a zone", "fe80::1%eth0", "fe80:0:0:0::/64"],
    ["an IPv4-mapped address", "::ffff:203.0.113.7", "203.0.113.7"],
    ["an IPv4-mapped address in hex", "::FFFF:cb00:7107", "203.0.113.7"],
    ["an IPv4-mapped address in full", "0:0:0:0:0:ffff:203.0.113.7", "203.0.113.7"],
    ["a NAT64 address (not mapped)", "64:ff9b::203.0.113.7", "64:ff9b:0:0::/64"],
    ["a dotted end without ::", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4::/64"],
  ])("keys %s (%s) as %s", (_label, header, key) => {
    expect(addressKey(header)).toBe(key);
  });

  it.each([
    ["no header", undefined],
    ["an empty header", ""],
    ["a word", "unknown"],
    ["three octets", "203.0.113"],
    ["five octets", "203.0.113.7.1"],
    ["an octet over 255", "256.0.113.7"],
    ["a signed octet", "-1.0.113.7"],
    ["two ::", "2001:db8::1::2"],
    ["nine groups", "1:2:3:4:5:6:7:8:9"],
    ["seven groups without ::", "1:2:3:4:5:6:7"],
    [":: with eight groups", "1:2:3:4::5:6:7:8"],
    ["a five-digit group", "12345::1"],
    ["a non-hex group", "g::1"],
    ["a leading single colon", ":1:2:3:4:5:6:7"],
    ["a dotted quad before ::", "1.2.3.4::1"],
    ["a dotted quad in the middle", "::1.2.3.4:1"],
    ["a bad dotted end", "::ffff:1.2.3.400"],
    ["brackets", "[2001:db8::1]"],
  ])("keys %s as UNKNOWN_ADDRESS, never throwing", (_label, header) => {
    expect(addressKey(header)).toBe(UNKNOWN_ADDRESS);
  });
});
