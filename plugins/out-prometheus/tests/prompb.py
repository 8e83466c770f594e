"""The remote write 1.0 messages (prometheus/prompb types.proto, remote.proto) for the official protobuf runtime.

Built from a descriptor at import, so the tests decode what the output sends
with Google's protobuf decoder, not with the output's own code.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def _msg(fd: descriptor_pb2.FileDescriptorProto, name: str, fields: list[tuple[str, int, int, int, str]]) -> None:
    m = fd.message_type.add(name=name)
    for fname, number, ftype, label, type_name in fields:
        f = m.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name


_fd = descriptor_pb2.FileDescriptorProto(name="horde_test_prompb.proto", package="prometheus", syntax="proto3")
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
_msg(_fd, "Label", [("name", 1, F.TYPE_STRING, OPT, ""), ("value", 2, F.TYPE_STRING, OPT, "")])
_msg(_fd, "Sample", [("value", 1, F.TYPE_DOUBLE, OPT, ""), ("timestamp", 2, F.TYPE_INT64, OPT, "")])
_msg(_fd, "BucketSpan", [("offset", 1, F.TYPE_SINT32, OPT, ""), ("length", 2, F.TYPE_UINT32, OPT, "")])
_msg(
    _fd,
    "Histogram",
    [
        ("count_int", 1, F.TYPE_UINT64, OPT, ""),
        ("count_float", 2, F.TYPE_DOUBLE, OPT, ""),
        ("sum", 3, F.TYPE_DOUBLE, OPT, ""),
        ("schema", 4, F.TYPE_SINT32, OPT, ""),
        ("zero_threshold", 5, F.TYPE_DOUBLE, OPT, ""),
        ("zero_count_int", 6, F.TYPE_UINT64, OPT, ""),
        ("zero_count_float", 7, F.TYPE_DOUBLE, OPT, ""),
        ("negative_spans", 8, F.TYPE_MESSAGE, REP, ".prometheus.BucketSpan"),
        ("negative_deltas", 9, F.TYPE_SINT64, REP, ""),
        ("negative_counts", 10, F.TYPE_DOUBLE, REP, ""),
        ("positive_spans", 11, F.TYPE_MESSAGE, REP, ".prometheus.BucketSpan"),
        ("positive_deltas", 12, F.TYPE_SINT64, REP, ""),
        ("positive_counts", 13, F.TYPE_DOUBLE, REP, ""),
        ("reset_hint", 14, F.TYPE_INT32, OPT, ""),
        ("timestamp", 15, F.TYPE_INT64, OPT, ""),
    ],
)
_msg(
    _fd,
    "TimeSeries",
    [
        ("labels", 1, F.TYPE_MESSAGE, REP, ".prometheus.Label"),
        ("samples", 2, F.TYPE_MESSAGE, REP, ".prometheus.Sample"),
        ("histograms", 4, F.TYPE_MESSAGE, REP, ".prometheus.Histogram"),
    ],
)
_msg(_fd, "WriteRequest", [("timeseries", 1, F.TYPE_MESSAGE, REP, ".prometheus.TimeSeries")])

_pool = descriptor_pool.DescriptorPool()
_pool.Add(_fd)
WriteRequest: Any = message_factory.GetMessageClass(_pool.FindMessageTypeByName("prometheus.WriteRequest"))


def decode(body: bytes) -> Any:
    """A WriteRequest from its uncompressed protobuf bytes."""
    msg = WriteRequest()
    msg.ParseFromString(body)
    return msg
