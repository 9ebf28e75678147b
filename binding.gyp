# node-gyp build. Sources, defines, include folders and libraries come from
# scripts/native-config.js, which CMakeLists.txt reads too.
{
  "variables": {
    "asan%": 0
  },
  "targets": [
    {
      "target_name": "asynchat",
      "sources": ["<!@(node scripts/native-config.js sources)"],
      "include_dirs": ["<!@(node scripts/native-config.js includes)"],
      "defines": ["<!@(node scripts/native-config.js defines)"],
      "libraries": ["<!@(node scripts/native-config.js libraries)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "conditions": [
        ["asan==1", {
          "cflags_cc": ["-fsanitize=address", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=address"]
        }]
      ]
    }
  ]
}
