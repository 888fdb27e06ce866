# Runs a command and checks its exit code and output (CTest alone cannot
# check both: PASS_REGULAR_EXPRESSION ignores the exit code).
#   cmake -DCMD="prog|arg|..." -DEXPECT_RC=N [-DEXPECT_OUT=regex]
#         [-DEXPECT_ERR=regex] [-DEXPECT_JSON=ON] -P RunExpect.cmake
string(REPLACE "|" ";" CMD "${CMD}")
execute_process(COMMAND ${CMD}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(summary "command: ${CMD}\nexit code: ${rc}\nstdout:\n${out}\nstderr:\n${err}")
if(NOT "${rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "expected exit code ${EXPECT_RC}\n${summary}")
endif()
if(DEFINED EXPECT_OUT AND NOT out MATCHES "${EXPECT_OUT}")
  message(FATAL_ERROR "stdout does not match '${EXPECT_OUT}'\n${summary}")
endif()
if(DEFINED EXPECT_ERR AND NOT err MATCHES "${EXPECT_ERR}")
  message(FATAL_ERROR "stderr does not match '${EXPECT_ERR}'\n${summary}")
endif()
if(EXPECT_JSON)
  # Exactly one JSON object on stdout (CMake >= 3.19 parses JSON).
  string(STRIP "${out}" stripped)
  string(JSON kind ERROR_VARIABLE jerr TYPE "${stripped}")
  if(jerr OR NOT kind STREQUAL "OBJECT")
    message(FATAL_ERROR "stdout is not one JSON object (${jerr})\n${summary}")
  endif()
  foreach(key median_ms p10_ms p90_ms peak_rss_mb threads)
    string(JSON v ERROR_VARIABLE jerr GET "${stripped}" ${key})
    if(jerr)
      message(FATAL_ERROR "JSON lacks '${key}'\n${summary}")
    endif()
  endforeach()
endif()
message(STATUS "${summary}")
