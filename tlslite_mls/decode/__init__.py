"""``python -m tlslite_mls decode capture.pcap --keylog FILE``: every message of a
captured connection of either mode, across MLS epochs.

Wireshark takes TLS 1.3 keys only from the standard key-log labels, so it cannot follow
a connection past its first MLS epoch change. This decoder reads the same capture and
key log, including the lines our key log adds for each epoch
(``CLIENT_TRAFFIC_SECRET_MLS_EPOCH_<n>``), and switches keys where docs/profile.md section 5
says each side does: right after the side's epoch_key_update marker.
"""
