# Runs one variant of one tests/compile_fail/<rule>.cpp and prints the verdict
# line "ctcnn-compile-fail: pass" only when the variant behaved as required:
#   ok  compiles, with no diagnostic at all (warnings included);
#   ko  (-DCTCNN_EXPECT_FAIL) fails, its output matches every "// EXPECT: <regex>"
#       line of the file, matches no "// EXPECT-NOT: <regex>" line, and holds
#       exactly N "error:" diagnostics when the file says "// EXPECT-ERRORS: N".
# Regexes are CMake regexes (no ';' in them: the file is read as a CMake list).
# CTest passes a test on the verdict line alone (PASS_REGULAR_EXPRESSION), so a
# file that compiles when it should fail, a regex that does not match (a typo),
# a malformed regex (this script stops) or a file without EXPECT lines all fail.
#
# Variables (-D): CONFIG (a file setting CTCNN_CF_COMPILER and CTCNN_CF_FLAGS),
# SOURCE (the .cpp), VARIANT (ok or ko).
cmake_minimum_required(VERSION 3.20)

include("${CONFIG}")

function(verdict_fail reason output)
  message("ctcnn-compile-fail: FAILED (${VARIANT}): ${reason}\n"
          "---- compiler output ----\n${output}")
  # A non-zero exit for people running the script by hand; CTest looks only for
  # the verdict line, which is not printed.
  message(FATAL_ERROR "compile_fail check failed")
endfunction()

if(NOT VARIANT MATCHES "^(ok|ko)$")
  message(FATAL_ERROR "VARIANT must be ok or ko, not '${VARIANT}'")
endif()

file(STRINGS "${SOURCE}" directives REGEX "^// EXPECT")
set(expect "")
set(expect_not "")
set(expect_errors "")
foreach(line IN LISTS directives)
  if(line MATCHES "^// EXPECT: (.+)$")
    list(APPEND expect "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// EXPECT-NOT: (.+)$")
    list(APPEND expect_not "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^// EXPECT-ERRORS: ([0-9]+)$")
    set(expect_errors "${CMAKE_MATCH_1}")
  else()
    verdict_fail("malformed directive line: ${line}" "")
  endif()
endforeach()
if(NOT expect)
  verdict_fail("${SOURCE} has no '// EXPECT: <regex>' line" "")
endif()
# Compile every regex in both variants, so that a malformed one (this stops the
# script) fails the ok test too.
foreach(regex IN LISTS expect expect_not)
  string(REGEX MATCH "${regex}" unused "")
endforeach()

set(command ${CTCNN_CF_COMPILER} ${CTCNN_CF_FLAGS} -fsyntax-only)
if(VARIANT STREQUAL "ko")
  list(APPEND command -DCTCNN_EXPECT_FAIL)
endif()
# LC_ALL=C: plain ASCII quotes from g++, whatever the caller's locale.
execute_process(COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C ${command} "${SOURCE}"
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)

if(VARIANT STREQUAL "ok")
  if(NOT status EQUAL 0)
    verdict_fail("the ok variant does not compile (status ${status})" "${output}")
  endif()
  string(STRIP "${output}" stripped)
  if(NOT stripped STREQUAL "")
    verdict_fail("the ok variant compiles but the compiler has something to say" "${output}")
  endif()
else()
  if(status EQUAL 0)
    verdict_fail("the ko variant compiles: it must not" "${output}")
  endif()
  foreach(regex IN LISTS expect)
    if(NOT output MATCHES "${regex}")
      verdict_fail("no match for EXPECT: ${regex}" "${output}")
    endif()
  endforeach()
  foreach(regex IN LISTS expect_not)
    if(output MATCHES "${regex}")
      verdict_fail("match for EXPECT-NOT: ${regex}" "${output}")
    endif()
  endforeach()
  if(NOT expect_errors STREQUAL "")
    string(REGEX MATCHALL "error: " errors "${output}")
    list(LENGTH errors error_count)
    if(NOT error_count EQUAL expect_errors)
      verdict_fail("${error_count} errors, expected ${expect_errors}" "${output}")
    endif()
  endif()
endif()

message("ctcnn-compile-fail: pass (${VARIANT})\n---- compiler output ----\n${output}")
