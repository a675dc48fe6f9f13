# netlab external-stack adapter for minnow: include this file at the end of minnow's top-level
# CMakeLists.txt (`include(netlab/CMakeLists-snippet.cmake)`) with netlab_adapter.cc next to it.
# It builds build/netlab_adapter from your TCPSender, TCPReceiver, Reassembler and ByteStream
# (the minnow_debug and util_debug libraries), with minnow's own compiler flags.

add_executable(netlab_adapter "${CMAKE_CURRENT_LIST_DIR}/netlab_adapter.cc")
target_link_libraries(netlab_adapter minnow_debug util_debug)
